# ruff: noqa: E501
"""Escalation wording in English, Spanish and Portuguese.

Triage has to read these texts, so they vary like real intake does: a police request is
formal and cites a case number, a user report is short and angry, a journalist asks for
comment before a deadline. Templates are combined and slot-filled, so two escalations of
the same category rarely share more than a phrase.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "es", "pt")
CATEGORIES: Final = (
    "child_safety", "violent_threat", "terrorism", "self_harm", "doxxing", "sextortion",
    "fraud", "hate", "harassment", "misinformation", "ip", "privacy",
)  # fmt: skip

# How each kind of sender writes: formal, partner, press, internal, user.
VOICE: Final = {
    "law_enforcement": "formal", "regulator": "formal", "trusted_flagger": "partner",
    "ngo": "partner", "creator_partner": "partner", "press": "press",
    "internal_moderation": "internal", "internal_staff": "internal", "user_report": "user",
}  # fmt: skip

WHAT: Final[dict[str, dict[str, str]]] = {
    "en": {
        "child_safety": "child sexual exploitation material", "violent_threat": "credible threats of violence",
        "terrorism": "terrorist propaganda", "self_harm": "content encouraging self-harm",
        "doxxing": "publication of private personal information", "sextortion": "a sextortion attempt",
        "fraud": "a financial scam", "hate": "hateful content targeting a protected group",
        "harassment": "a coordinated harassment campaign", "misinformation": "false information",
        "ip": "copyright-infringing material", "privacy": "intimate images shared without consent",
    },
    "es": {
        "child_safety": "material de explotación sexual infantil", "violent_threat": "amenazas de violencia creíbles",
        "terrorism": "propaganda terrorista", "self_harm": "contenido que incita a autolesionarse",
        "doxxing": "la publicación de datos personales privados", "sextortion": "un intento de sextorsión",
        "fraud": "una estafa financiera", "hate": "contenido de odio contra un grupo protegido",
        "harassment": "una campaña de acoso coordinada", "misinformation": "información falsa",
        "ip": "material que infringe derechos de autor", "privacy": "imágenes íntimas compartidas sin consentimiento",
    },
    "pt": {
        "child_safety": "material de exploração sexual infantil", "violent_threat": "ameaças de violência críveis",
        "terrorism": "propaganda terrorista", "self_harm": "conteúdo que incentiva a automutilação",
        "doxxing": "a divulgação de dados pessoais privados", "sextortion": "uma tentativa de sextorsão",
        "fraud": "um golpe financeiro", "hate": "conteúdo de ódio contra um grupo protegido",
        "harassment": "uma campanha de assédio coordenada", "misinformation": "informação falsa",
        "ip": "material que viola direitos autorais", "privacy": "imagens íntimas compartilhadas sem consentimento",
    },
}  # fmt: skip

DETAIL: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "en": {
        "child_safety": ("The account {handle} appears to be trading images of minors through direct messages.",
                         "A post at {url} shows what looks like a child, and the comments link to a private group."),
        "violent_threat": ("{handle} posted that they will 'finish the job' at a school in {city} tomorrow.",
                           "The user names a specific person and address in {city} and says they own a weapon."),
        "terrorism": ("The video at {url} is an official release of a proscribed organisation and is being reposted quickly.",
                      "{handle} is recruiting for an armed group and sharing a manual."),
        "self_harm": ("{handle} said goodnight to everyone and posted a photo of pills an hour ago.",
                      "A live stream by {handle} shows the person threatening to hurt themselves."),
        "doxxing": ("{handle} published the home address and phone number of a local councillor.",
                    "Screenshots at {url} expose a nurse's workplace, address and children's school."),
        "sextortion": ("A teenager is being told by {handle} to pay {amount} or intimate photos will be sent to their family.",
                       "The victim was contacted by {handle} and has already paid {amount}; the threats continue."),
        "fraud": ("{handle} impersonates {brand} and asks users to 'verify' their bank details.",
                  "An investment scheme promising 40% a week is promoted at {url}; victims lost about {amount}."),
        "hate": ("{handle} posted {count} slurs against migrants in the last day.",
                 "The post at {url} dehumanises a religious minority and calls for them to be expelled."),
        "harassment": ("Around {count} accounts are flooding {handle}'s replies with abuse since yesterday.",
                       "A streamer is receiving hundreds of abusive messages; the campaign started in a forum."),
        "misinformation": ("A video at {url} claims polling stations in {city} will close early.",
                           "{handle} is spreading a fake health notice attributed to the ministry."),
        "ip": ("{handle} is re-uploading full episodes owned by {brand}.",
               "Our client's music is used without a licence in {count} posts, e.g. {url}."),
        "privacy": ("Intimate images of the reporter were posted by an ex-partner at {url}.",
                    "{handle} shared a private conversation and medical records of a third person."),
    },
    "es": {
        "child_safety": ("La cuenta {handle} parece intercambiar imágenes de menores por mensajes directos.",
                         "Una publicación en {url} muestra lo que parece un niño y los comentarios enlazan a un grupo privado."),
        "violent_threat": ("{handle} publicó que va a 'terminar el trabajo' mañana en un colegio de {city}.",
                           "El usuario nombra a una persona y una dirección concreta en {city} y dice tener un arma."),
        "terrorism": ("El video en {url} es material oficial de una organización proscrita y se está replicando rápido.",
                      "{handle} recluta para un grupo armado y comparte un manual."),
        "self_harm": ("{handle} se despidió de todos y publicó una foto de pastillas hace una hora.",
                      "En una transmisión en vivo, {handle} amenaza con hacerse daño."),
        "doxxing": ("{handle} publicó la dirección y el teléfono de una concejala de {city}.",
                    "Capturas en {url} exponen el lugar de trabajo, la casa y el colegio de los hijos de una enfermera."),
        "sextortion": ("{handle} exige a una adolescente {amount} o enviará fotos íntimas a su familia.",
                       "La víctima ya pagó {amount} a {handle} y las amenazas continúan."),
        "fraud": ("{handle} se hace pasar por {brand} y pide 'verificar' datos bancarios.",
                  "En {url} se promueve una inversión que promete 40% semanal; las víctimas perdieron cerca de {amount}."),
        "hate": ("{handle} publicó {count} insultos contra migrantes en el último día.",
                 "La publicación en {url} deshumaniza a una minoría religiosa y pide su expulsión."),
        "harassment": ("Unas {count} cuentas inundan de insultos las respuestas de {handle} desde ayer.",
                       "Una creadora recibe cientos de mensajes agresivos; la campaña empezó en un foro."),
        "misinformation": ("Un video en {url} afirma que los puestos de votación de {city} cerrarán antes.",
                           "{handle} difunde un falso comunicado de salud atribuido al ministerio."),
        "ip": ("{handle} sube capítulos completos propiedad de {brand}.",
               "La música de nuestro cliente se usa sin licencia en {count} publicaciones, por ejemplo {url}."),
        "privacy": ("Una expareja publicó imágenes íntimas de la denunciante en {url}.",
                    "{handle} compartió una conversación privada y la historia clínica de otra persona."),
    },
    "pt": {
        "child_safety": ("A conta {handle} parece trocar imagens de menores por mensagens diretas.",
                         "Uma publicação em {url} mostra o que parece ser uma criança e os comentários levam a um grupo privado."),
        "violent_threat": ("{handle} publicou que vai 'terminar o serviço' amanhã numa escola de {city}.",
                           "O usuário cita uma pessoa e um endereço em {city} e diz ter uma arma."),
        "terrorism": ("O vídeo em {url} é material oficial de uma organização proibida e está sendo replicado rapidamente.",
                      "{handle} recruta para um grupo armado e compartilha um manual."),
        "self_harm": ("{handle} se despediu de todos e postou uma foto de comprimidos há uma hora.",
                      "Numa transmissão ao vivo, {handle} ameaça se machucar."),
        "doxxing": ("{handle} publicou o endereço e o telefone de uma vereadora de {city}.",
                    "Prints em {url} expõem o trabalho, a casa e a escola dos filhos de uma enfermeira."),
        "sextortion": ("{handle} exige de uma adolescente {amount} ou enviará fotos íntimas para a família.",
                       "A vítima já pagou {amount} para {handle} e as ameaças continuam."),
        "fraud": ("{handle} se passa por {brand} e pede para 'validar' dados bancários.",
                  "Em {url} é divulgado um investimento que promete 40% por semana; as vítimas perderam cerca de {amount}."),
        "hate": ("{handle} publicou {count} ofensas contra imigrantes no último dia.",
                 "A publicação em {url} desumaniza uma minoria religiosa e pede a sua expulsão."),
        "harassment": ("Cerca de {count} contas estão inundando as respostas de {handle} com ofensas desde ontem.",
                       "Uma criadora recebe centenas de mensagens agressivas; a campanha começou num fórum."),
        "misinformation": ("Um vídeo em {url} afirma que as seções eleitorais de {city} vão fechar mais cedo.",
                           "{handle} espalha um falso comunicado de saúde atribuído ao ministério."),
        "ip": ("{handle} está subindo episódios completos de propriedade da {brand}.",
               "A música do nosso cliente é usada sem licença em {count} publicações, por exemplo {url}."),
        "privacy": ("Um ex-parceiro publicou imagens íntimas da denunciante em {url}.",
                    "{handle} compartilhou uma conversa privada e o prontuário médico de outra pessoa."),
    },
}  # fmt: skip

OPENER: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "en": {
        "formal": ("Pursuant to our investigation {case}, we request your urgent assistance regarding {what}.",
                   "This office hereby notifies you of {what} hosted on your platform (reference {case})."),
        "partner": ("As a trusted partner we are flagging {what}.", "Our analysts identified {what} and ask for review."),
        "press": ("I am a reporter at {org} working on a story about {what} on your platform.",),
        "internal": ("Escalating from the queue: {what}.", "Internal escalation ({case}), suspected {what}."),
        "user": ("please help, someone is posting {what}.", "Reporting {what}. This needs to stop.",
                 "hi, I want to report {what}."),
    },
    "es": {
        "formal": ("En el marco de la investigación {case}, solicitamos su colaboración urgente respecto de {what}.",
                   "Por medio de la presente se notifica {what} alojado en su plataforma (referencia {case})."),
        "partner": ("Como socio de confianza, señalamos {what}.", "Nuestro equipo detectó {what} y solicita revisión."),
        "press": ("Soy periodista de {org} y preparo una nota sobre {what} en su plataforma.",),
        "internal": ("Escalado desde la cola: {what}.", "Escalamiento interno ({case}), se sospecha de {what}."),
        "user": ("por favor ayuda, alguien publica {what}.", "Denuncio {what}. Esto tiene que parar.",
                 "hola, quiero reportar {what}."),
    },
    "pt": {
        "formal": ("No âmbito do inquérito {case}, solicitamos colaboração urgente a respeito de {what}.",
                   "Pelo presente, notificamos {what} hospedado em sua plataforma (referência {case})."),
        "partner": ("Como parceiro confiável, sinalizamos {what}.", "Nossa equipe identificou {what} e pede revisão."),
        "press": ("Sou jornalista da {org} e estou apurando uma matéria sobre {what} na plataforma.",),
        "internal": ("Escalado a partir da fila: {what}.", "Escalonamento interno ({case}), suspeita de {what}."),
        "user": ("por favor ajudem, alguém está postando {what}.", "Denuncio {what}. Isso precisa parar.",
                 "oi, quero denunciar {what}."),
    },
}  # fmt: skip

REACH: Final = {
    "en": "The account has about {reach} followers.",
    "es": "La cuenta tiene unos {reach} seguidores.",
    "pt": "A conta tem cerca de {reach} seguidores.",
}
URGENT: Final = {
    "en": ("This is time-critical.", "There is an imminent risk to a person's safety.", "It is spreading fast."),
    "es": ("Es urgente.", "Existe un riesgo inminente para la seguridad de una persona.", "Se está difundiendo rápido."),
    "pt": ("É urgente.", "Há risco iminente à segurança de uma pessoa.", "Está se espalhando rapidamente."),
}  # fmt: skip
DEADLINE: Final = {
    "en": ("Please act by {deadline}.", "We publish on {deadline} and would welcome your comment before then."),
    "es": ("Les pedimos actuar antes del {deadline}.", "Publicamos el {deadline} y agradeceríamos su comentario antes."),
    "pt": ("Solicitamos providências até {deadline}.", "Publicaremos em {deadline} e gostaríamos de um comentário antes."),
}  # fmt: skip
CLOSER: Final[dict[str, dict[str, str]]] = {
    "en": {"formal": "Please preserve all related records. Regards, {org}.", "partner": "Thank you, {org}.",
           "press": "Best regards.", "internal": "Subjects and evidence attached.", "user": ""},
    "es": {"formal": "Se solicita preservar todos los registros relacionados. Atentamente, {org}.",
           "partner": "Gracias, {org}.", "press": "Saludos cordiales.", "internal": "Se adjuntan sujetos y evidencia.",
           "user": ""},
    "pt": {"formal": "Solicita-se a preservação de todos os registros relacionados. Atenciosamente, {org}.",
           "partner": "Obrigado, {org}.", "press": "Atenciosamente.", "internal": "Sujeitos e evidências em anexo.",
           "user": ""},
}  # fmt: skip
UPDATE: Final = {
    "en": "Update to our earlier report: ", "es": "Actualización de nuestro reporte anterior: ",
    "pt": "Atualização da nossa denúncia anterior: ",
}  # fmt: skip

TITLE: Final[dict[str, tuple[str, ...]]] = {
    "en": ("Urgent: {what}", "Report of {what} ({handle})", "{case} - {what}", "Request for review: {what}"),
    "es": ("Urgente: {what}", "Denuncia de {what} ({handle})", "{case} - {what}", "Solicitud de revisión: {what}"),
    "pt": ("Urgente: {what}", "Denúncia de {what} ({handle})", "{case} - {what}", "Pedido de análise: {what}"),
}  # fmt: skip

JURISDICTIONS: Final = {"en": ("US", "GB", "IE", "IN", "PH"), "es": ("CO", "MX", "ES", "AR", "CL"),
                        "pt": ("BR", "PT")}  # fmt: skip
CITIES: Final = {
    "US": ("Austin", "Chicago", "Phoenix"), "GB": ("Leeds", "London"), "IE": ("Dublin", "Cork"),
    "IN": ("Hyderabad", "Pune"), "PH": ("Quezon City", "Cebu"), "CO": ("Bogotá", "Medellín", "Cali"),
    "MX": ("Monterrey", "Guadalajara"), "ES": ("Madrid", "Sevilla"), "AR": ("Rosario", "Córdoba"),
    "CL": ("Santiago", "Valparaíso"), "BR": ("São Paulo", "Recife", "Curitiba"), "PT": ("Lisboa", "Porto"),
}  # fmt: skip
REQUESTERS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "law_enforcement": {
        "US": ("FBI Austin Field Office", "Chicago Police Department"), "GB": ("Metropolitan Police Service",),
        "IE": ("An Garda Síochána",), "IN": ("Hyderabad Cyber Crime Police",), "PH": ("PNP Anti-Cybercrime Group",),
        "CO": ("Policía Nacional de Colombia - DIJIN",), "MX": ("Policía Cibernética CDMX",),
        "ES": ("Guardia Civil - Grupo de Delitos Telemáticos",), "AR": ("Policía Federal Argentina",),
        "CL": ("PDI - Brigada del Cibercrimen",), "BR": ("Polícia Federal", "Polícia Civil de São Paulo"),
        "PT": ("Polícia Judiciária",),
    },
    "regulator": {
        "US": ("FTC",), "GB": ("Ofcom",), "IE": ("Coimisiún na Meán",), "IN": ("MeitY",), "PH": ("NTC",),
        "CO": ("SIC Colombia",), "MX": ("IFT",), "ES": ("CNMC",), "AR": ("ENACOM",), "CL": ("SERNAC",),
        "BR": ("ANPD", "TSE"), "PT": ("ERC",),
    },
}  # fmt: skip
PARTNERS: Final = {
    "trusted_flagger": ("SafeNet Flaggers", "Red de Alerta Digital", "Rede Segura"),
    "ngo": ("Childline Alliance", "Fundación Derechos Digitales", "SaferNet Aliados"),
    "creator_partner": ("Bright Creators MCN", "Estudio Latino Media", "Canal Verde Produções"),
    "press": ("The Daily Ledger", "El Observador", "Folha do Dia", "Tech Review Weekly"),
    "internal_moderation": ("T&S Moderation",), "internal_staff": ("Policy team",),
}  # fmt: skip
BRANDS: Final = ("Banco Central", "PayFast", "Nubanco", "StreamMax", "Estrella TV", "MegaMarket")
