"""Plausible staff names per site locale, so directories and reports read like a real org."""

from __future__ import annotations

from typing import Final

import numpy as np

_FIRST: Final[dict[str, tuple[str, ...]]] = {
    "en_us": ("James", "Mary", "Michael", "Jennifer", "David", "Ashley", "Chris", "Jessica",
              "Daniel", "Emily", "Tyler", "Sarah", "Marcus", "Lauren", "Kevin", "Megan"),
    "es_co": ("Andrés", "Valentina", "Juan", "Camila", "Santiago", "Daniela", "Carlos",
              "Mariana", "Felipe", "Laura", "Sebastián", "Natalia", "Diego", "Paula", "Jorge",
              "Isabella"),
    "pt_br": ("João", "Ana", "Pedro", "Mariana", "Lucas", "Beatriz", "Gabriel", "Júlia",
              "Rafael", "Larissa", "Thiago", "Camila", "Felipe", "Letícia", "Bruno", "Fernanda"),
    "en_ie": ("Seán", "Aoife", "Conor", "Niamh", "Cian", "Siobhán", "Darragh", "Ciara",
              "Eoin", "Róisín", "Liam", "Sinéad", "Oisín", "Orla", "Patrick", "Emma"),
    "pt_pt": ("Tiago", "Inês", "Duarte", "Matilde", "Rodrigo", "Leonor", "Afonso", "Beatriz",
              "Miguel", "Carolina", "Gonçalo", "Mariana", "Diogo", "Sofia", "Rui", "Catarina"),
    "fil_ph": ("Jose", "Maria", "Mark", "Kristine", "John Paul", "Angelica", "Jericho",
               "Rowena", "Paolo", "Jasmine", "Rommel", "Lovely", "Arnel", "Cherry", "Jun",
               "Princess"),
    "en_in": ("Rahul", "Priya", "Arjun", "Ananya", "Vikram", "Sneha", "Karthik", "Divya",
              "Suresh", "Lakshmi", "Aditya", "Pooja", "Ravi", "Kavya", "Sandeep", "Meera"),
}  # fmt: skip

_LAST: Final[dict[str, tuple[str, ...]]] = {
    "en_us": ("Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez",
              "Wilson", "Anderson", "Thomas", "Moore", "Jackson", "Lee", "Nguyen", "Hernandez"),
    "es_co": ("Rodríguez", "Gómez", "González", "Martínez", "García", "López", "Hernández",
              "Sánchez", "Ramírez", "Pérez", "Díaz", "Muñoz", "Rojas", "Moreno", "Jiménez",
              "Vargas"),
    "pt_br": ("Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves",
              "Pereira", "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Araújo",
              "Rocha"),
    "en_ie": ("Murphy", "Kelly", "O'Sullivan", "Walsh", "Smith", "O'Brien", "Byrne", "Ryan",
              "O'Connor", "O'Neill", "Doyle", "McCarthy", "Gallagher", "Lynch", "Quinn",
              "Kennedy"),
    "pt_pt": ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues",
              "Martins", "Jesus", "Sousa", "Fernandes", "Gonçalves", "Gomes", "Lopes", "Marques",
              "Almeida"),
    "fil_ph": ("Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Torres",
               "Tomas", "Andrada", "Castillo", "Flores", "Villanueva", "Ramos", "Aquino",
               "Dela Cruz"),
    "en_in": ("Sharma", "Reddy", "Rao", "Kumar", "Patel", "Iyer", "Nair", "Singh", "Gupta",
              "Naidu", "Menon", "Joshi", "Verma", "Krishnan", "Das", "Chowdary"),
}  # fmt: skip


def person_name(locale: str, rng: np.random.Generator) -> str:
    first, last = _FIRST[locale], _LAST[locale]
    return f"{first[int(rng.integers(len(first)))]} {last[int(rng.integers(len(last)))]}"
