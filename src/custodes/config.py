"""One Settings object for the whole program.

Every value can come from the environment (prefix ``CUSTODES_``) or from an optional TOML
file named by ``CUSTODES_CONFIG``; command-line options override both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "placeholder",
        "your-secret-here",
        "xxx",
        "todo",
        "default",
        "pseudonym_key",
        "test",
        "dev",
    }
)


class Settings(BaseSettings):
    """Runtime configuration; defaults are the embedded, single-laptop setup."""

    model_config = SettingsConfigDict(env_prefix="CUSTODES_", extra="ignore")

    data_dir: Path = Field(default=Path("custodes-data"))
    # DuckDB spills to disk past this, which is what keeps 30M-event ingests under 4 GiB.
    duckdb_memory_limit: str = "3GB"
    duckdb_threads: int | None = None
    # Extra rule packs for the `rules` detector: files or folders, separated like PATH.
    rules: str | None = None
    rules_builtin: bool = True  # also run the starter pack shipped with custodes

    # Case store (issue 4): SQLite in the data dir unless a URL is given, e.g.
    # postgresql+psycopg://user@host/db.
    database_url: str | None = None
    # `development` allows the demo login and a generated secret; anything else refuses them.
    environment: Literal["development", "production"] = "development"
    # Keys pseudonyms and nothing else; without one, a random key is kept in the case store.
    pseudonym_key: str | None = None
    session_hours: float = 8.0
    unmask_minutes: int = 60  # how long an approved unmasking lasts
    unmask_needs_approval: bool = False  # a second person must approve each unmasking
    retention_days: int = 730  # closed cases are purged this long after closing
    # Escalation triage policy YAML for the server and the CLI (the CLI's --policy wins);
    # the shipped default when unset.
    triage_policy: Path | None = None

    @property
    def has_case_store(self) -> bool:
        """A database is configured, or the default SQLite file exists (checked without
        importing SQLAlchemy, so commands that only may need the case store stay fast)."""
        return bool(self.database_url) or (self.data_dir / "cases.sqlite").exists()

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        """Outside development, a secret that looks like a placeholder is refused."""
        if self.environment != "development" and self.pseudonym_key is not None:
            key = self.pseudonym_key.strip()
            if len(key) < 32 or key.lower().strip("<>{}$") in PLACEHOLDERS or len(set(key)) < 8:
                raise ValueError(
                    "CUSTODES_PSEUDONYM_KEY looks like a placeholder: use at least 32 random "
                    "characters (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
                    ", or leave it unset to have one generated and kept in the case store"
                )
        return self

    @property
    def case_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'cases.sqlite').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("CUSTODES_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Settings from file and environment, with explicit (CLI) values on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
