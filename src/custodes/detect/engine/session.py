"""Starting Spark: quiet, UTC, and for local mode bound to this machine only.

Spark's defaults suit a shared cluster, not a command in a terminal: a web UI on a port, a
progress bar and INFO/WARN lines on stderr, the host's network address, and the JVM's own
time zone for timestamps. Feature values depend on the session time zone (local days are
computed from UTC instants), so it is pinned here, in one place.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Final

from custodes.errors import CustodesError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER: Final = "local[2]"
LOG_FILE: Final = "spark.log"
MIN_JAVA: Final = 17
# Local mode runs everything in the driver JVM; this is its heap unless the user says.
LOCAL_DRIVER_MEMORY: Final = "3g"
_INSTALL_SPARK: Final = (
    "the Spark engine needs PySpark: install the spark extra "
    "(`uv sync --extra spark` or `pip install 'custodes[spark]'`)"
)
_INSTALL_JAVA: Final = (
    "the Spark engine needs Java {need} or newer{found}: install it (Debian/Ubuntu: "
    "`apt-get install openjdk-17-jre-headless`) or point JAVA_HOME at one"
)
# Errors only, on stderr, for Spark's own and its libraries' loggers.
_LOG4J: Final = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
# PySpark counts as a shell, whose level comes from this logger; left unset, Spark prints
# "Setting default log level to WARN" on every start.
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def running() -> bool:
    """Whether this process already has a Spark session (a notebook's, a test's)."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return False
    return SparkContext._active_spark_context is not None


def start_session(master: str, scratch: Path) -> SparkSession:
    """A SparkSession for ``master``; ``scratch`` holds its logging config, its log
    (``spark.log``: everything the JVM prints goes there, not to the terminal) and, in
    local mode, its spill files."""
    try:
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise CustodesError(_INSTALL_SPARK) from exc
    check_java()
    scratch.mkdir(parents=True, exist_ok=True)
    log_config = scratch / "log4j2.properties"
    log_config.write_text(_LOG4J, encoding="utf-8")
    if is_local(master):
        # Read by Spark's launcher: without it Spark looks up the host's address and warns.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    conf = SparkConf().setMaster(master).setAppName("custodes-features")
    conf.setAll(list(session_conf(master, scratch, log_config).items()))
    log = scratch / LOG_FILE
    try:
        if SparkContext._gateway is None:
            # The JVM writes a few lines of its own (module warnings) before any logging
            # config applies: they go to the log file with the rest.
            with log.open("ab") as sink:
                gateway = launch_gateway(  # type: ignore[no-untyped-call]
                    conf, popen_kwargs={"stdout": sink, "stderr": sink}
                )
            SparkContext(conf=conf, gateway=gateway)
        session = SparkSession.builder.config(conf=conf).getOrCreate()
    except Exception as exc:
        raise CustodesError(
            f"cannot start Spark with master {master!r}: {exc} (details in {log})"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    # getOrCreate may return a session someone else configured: these matter for results.
    for key, value in _RUNTIME.items():
        session.conf.set(key, value)
    return session


_RUNTIME: Final = {
    "spark.sql.session.timeZone": "UTC",
    # Naive Parquet timestamps are UTC instants here, as in the event store.
    "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
}


def session_conf(master: str, scratch: Path, log_config: Path) -> dict[str, str]:
    conf = {
        **_RUNTIME,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log_config.as_uri()}",
    }
    if is_local(master):
        cores = _local_cores(master)
        conf |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.memory": os.environ.get(
                "CUSTODES_SPARK_DRIVER_MEMORY", LOCAL_DRIVER_MEMORY
            ),
            "spark.local.dir": str(scratch / "local"),
            # The default 200 shuffle partitions are for clusters: on a few cores most of
            # them are empty tasks.
            "spark.sql.shuffle.partitions": str(max(2, 2 * cores)),
            # The offsets and people tables are joined to every event: broadcast them.
            "spark.sql.autoBroadcastJoinThreshold": str(64 * 1024 * 1024),
        }
    return conf


def _local_cores(master: str) -> int:
    match = re.fullmatch(r"local\[(\d+)(?:,\s*\d+)?\]", master)
    if match:
        return int(match[1])
    return os.cpu_count() or 1  # local (one thread, but few partitions is right) or local[*]


def check_java() -> int:
    """The Java major version PySpark will launch; an error when missing or too old."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not Path(java).exists():
        raise CustodesError(_INSTALL_JAVA.format(need=MIN_JAVA, found=" (none found)"))
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CustodesError(_INSTALL_JAVA.format(need=MIN_JAVA, found=f" ({exc})")) from exc
    version = java_major(done.stderr + done.stdout)
    if version is None or version < MIN_JAVA:
        found = f" (found {version} at {java})" if version else f" ({java} gave no version)"
        raise CustodesError(_INSTALL_JAVA.format(need=MIN_JAVA, found=found))
    return version


def java_major(banner: str) -> int | None:
    """17 from ``openjdk version "17.0.15"``, 8 from ``java version "1.8.0_402"``."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', banner)
    if not match:
        return None
    major = int(match[1])
    return int(match[2] or 0) if major == 1 else major
