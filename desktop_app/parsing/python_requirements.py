"""Which PyPI packages a Python script needs, inferred the way Windmill does it.

In order of precedence:

1. a ``# requirements:`` comment block lists them explicitly (imports are then ignored);
2. a PEP 723 ``# /// script`` block gives its ``dependencies``;
3. otherwise the imports found before ``def main(`` are mapped to package names (standard
   library skipped, ``_`` → ``-``, known renames such as ``yaml`` → ``pyyaml``), after the
   packages of an ``# extra_requirements:`` block. An import line may carry
   ``# pin: pkg==1.2`` (replacing what the line would infer; several allowed) and any line
   ``# repin: pkg==1.3`` overrides every pin of that package.

Relative imports and imports of workspace scripts (``f.…``, ``u.…``) are not packages and are
skipped; Windmill merges those scripts' own requirements, which needs their code (the caller's
business, not this pure function's).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib

from desktop_app.core.errors import ScriptSyntaxError, UsageError

_STDLIB = set(sys.stdlib_module_names) | {"__future__", "__main__", "_typeshed", "builtins"}

# import name (top-level module) → PyPI requirement, where the names differ.
SHORT_MAP: dict[str, str] = {
    "psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary, pool]", "yaml": "pyyaml",
    "git": "GitPython", "PIL": "Pillow", "cv2": "opencv-python", "sklearn": "scikit-learn",
    "dateutil": "python-dateutil", "googleapiclient": "google-api-python-client",
    "dns": "dnspython", "github": "PyGithub", "ldap": "python-ldap", "docx": "python-docx",
    "mysql": "mysql-connector-python", "gitlab": "python-gitlab", "socks": "PySocks",
    "msgraph": "msgraph-sdk", "haystack": "haystack-ai", "umap": "umap-learn",
    "bs4": "beautifulsoup4", "jwt": "PyJWT", "magic": "python-magic", "dotenv": "python-dotenv",
    "Crypto": "pycryptodome", "Cryptodome": "pycryptodomex", "OpenSSL": "pyOpenSSL",
    "serial": "pyserial", "usb": "pyusb", "attr": "attrs", "wmill": "wmill",
    # `import tidemill` in a script is Windmill's SDK under Tidemill's name (the job
    # wrapper aliases the module), so it needs the same package.
    "tidemill": "wmill",
    "pptx": "python-pptx", "telegram": "python-telegram-bot", "telebot": "pyTelegramBotAPI",
    "fitz": "PyMuPDF", "MySQLdb": "mysqlclient", "skimage": "scikit-image",
    "jose": "python-jose", "multipart": "python-multipart", "kafka": "kafka-python",
    "zmq": "pyzmq", "discord": "discord.py", "slugify": "python-slugify", "Bio": "biopython",
    "faiss": "faiss-cpu", "pkg_resources": "setuptools", "nacl": "PyNaCl", "bson": "pymongo",
    "grpc": "grpcio", "websocket": "websocket-client", "ruamel": "ruamel.yaml",
    "snowflake": "snowflake-connector-python", "paho": "paho-mqtt", "nats": "nats-py",
    "weaviate": "weaviate-client", "osgeo": "GDAL", "ffmpeg": "ffmpeg-python",
    "speech_recognition": "SpeechRecognition", "barcode": "python-barcode", "fpdf": "fpdf2",
    "camelot": "camelot-py", "tabula": "tabula-py", "newspaper": "newspaper3k",
    "serpapi": "google-search-results", "argon2": "argon2-cffi", "nmap": "python-nmap",
    "whois": "python-whois", "winrm": "pywinrm", "saml2": "pysaml2",
    "office365": "Office365-REST-Python-Client", "atlassian": "atlassian-python-api",
    "hubspot": "hubspot-api-client", "shopify": "ShopifyAPI", "win32api": "pywin32",
    "win32com": "pywin32", "pythoncom": "pywin32", "smbclient": "smbprotocol",
    "pydrive": "PyDrive", "pydrive2": "PyDrive2", "sentry_sdk": "sentry-sdk",
    "markdown_it": "markdown-it-py", "Levenshtein": "levenshtein",
}

# google.cloud.<X> packages whose PyPI name is not simply google-cloud-<X>.
_GOOGLE_CLOUD_NAMES = {
    "secretmanager": "google-cloud-secret-manager", "resourcemanager": "google-cloud-resource-manager",
    "sql": "cloud-sql-python-connector", "errorreporting": "google-cloud-error-reporting",
    "devtools": "google-cloud-build", "run": "google-cloud-run",
}
_GOOGLE_OTHER = {
    "auth": "google-auth", "oauth2": "google-auth", "protobuf": "protobuf",
    "genai": "google-genai", "generativeai": "google-generativeai",
    "api_core": "google-api-core", "ads": "google-ads", "analytics": "google-analytics-data",
}
# azure.<namespace>.<X> is published as azure-<namespace>-<X>; other azure.<X> as azure-<X>.
_AZURE_NAMESPACES = {
    "storage", "keyvault", "mgmt", "ai", "data", "monitor", "search", "communication",
    "security", "synapse", "digitaltwins", "iot", "mixedreality", "messaging", "schemaregistry",
}
_VERSION_SUFFIX = re.compile(r"_v\d+(?:(?:p\d+)?(?:alpha|beta)\d*)?$")  # compute_v1, run_v2…
_BLOCK_LINE = re.compile(r"^#\s?(\S+)\s*$")
_PIN = re.compile(r"#\s*(re)?pin:\s*([^#]+)")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PEP723 = re.compile(
    r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$"
)
_PY_SHORT = re.compile(r"^#\s*py(3)(\d{1,2})\s*$")
_PY_SPEC = re.compile(r"^#\s*py:\s*(\S.*?)\s*$")


def infer_requirements(code: str) -> list[str]:
    """Requirements of ``code`` (pip requirement strings), in order of first appearance."""
    lines = code.splitlines()
    explicit = _comment_block(lines, "requirements:")
    if explicit is not None:
        return explicit
    script = _pep723_script(code)
    if script is not None:
        deps = script.get("dependencies", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise UsageError("the '# /// script' block's dependencies must be a list of strings")
        return list(deps)
    collected = _Requirements()
    for spec in _comment_block(lines, "extra_requirements:") or []:
        collected.add(spec, explicit=True, line=None)
    repins: dict[str, tuple[str, int]] = {}
    for number, text in enumerate(lines, 1):
        for is_repin, spec in _PIN.findall(text):
            if is_repin:
                repins.setdefault(_canonical(spec.strip()), (spec.strip(), number))
    for line, packages in _imports_before_main(code, lines):
        pins = [spec.strip() for _, spec in _PIN.findall(lines[line - 1])]
        for spec in pins or packages:
            collected.add(spec, explicit=bool(pins), line=line)
    return collected.result(repins)


def python_version_annotation(code: str) -> str | None:
    """The Python version a script asks for: ``# py311`` → "3.11", ``# py: >=3.12`` → ">=3.12",
    else PEP 723's ``requires-python``; None when it says nothing."""
    for line in code.splitlines():
        text = line.strip()
        if not text:
            continue
        if not text.startswith("#"):
            break
        if short := _PY_SHORT.match(text):
            return f"{short[1]}.{short[2]}"
        if spec := _PY_SPEC.match(text):
            return spec[1]
    script = _pep723_script(code)
    value = script.get("requires-python") if script else None
    return value if isinstance(value, str) else None


def package_for_import(module: str, names: tuple[str, ...] = ()) -> str | None:
    """The PyPI requirement for importing ``module`` (``from module import names``), or None
    for the standard library and workspace scripts."""
    top = module.split(".", 1)[0]
    if top in ("f", "u") or top in _STDLIB or not top:
        return None
    parts = module.split(".")
    if top == "google":
        # `from google.cloud import storage` names the package in the imported name.
        if parts[1:2] == ["cloud"] and len(parts) == 2 and names:
            parts = [*parts, names[0]]
        if parts[1:2] == ["cloud"] and len(parts) > 2:
            service = _VERSION_SUFFIX.sub("", parts[2])
            return _GOOGLE_CLOUD_NAMES.get(service, "google-cloud-" + service.replace("_", "-"))
        if len(parts) > 1 and parts[1] in _GOOGLE_OTHER:
            return _GOOGLE_OTHER[parts[1]]
    if top == "azure":
        if len(parts) == 2 and parts[1] in _AZURE_NAMESPACES and names:
            parts = [*parts, names[0]]
        if len(parts) > 2 and parts[1] in _AZURE_NAMESPACES:
            return f"azure-{parts[1]}-{parts[2]}".replace("_", "-")
        if len(parts) > 1:
            return f"azure-{parts[1]}".replace("_", "-")
    return SHORT_MAP.get(top, top.replace("_", "-"))


def _imports_before_main(code: str, lines: list[str]) -> list[tuple[int, list[str]]]:
    """(line, packages) of each import statement above ``def main(``, in source order."""
    main_line = next((i for i, text in enumerate(lines, 1)
                      if text.startswith(("def main(", "async def main("))), None)
    tree = _parse_for_imports(code, lines, main_line)
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if main_line is not None and getattr(node, "lineno", 0) >= main_line:
            continue
        packages: list[str | None] = []
        if isinstance(node, ast.Import):
            packages = [package_for_import(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = tuple(alias.name for alias in node.names)
            packages = [package_for_import(node.module, names[i:i + 1])
                        for i in range(len(names))]
        else:
            continue
        found.append((node.lineno, [p for p in packages if p]))
    found.sort(key=lambda item: item[0])
    return found


def _parse_for_imports(code: str, lines: list[str], main_line: int | None) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as exc:
        if main_line is not None:
            # Like Windmill, the text above main is enough (minus main's decorators).
            head = lines[:main_line - 1]
            while head and (head[-1].startswith("@") or not head[-1].strip()):
                head.pop()
            try:
                return ast.parse("\n".join(head))
            except SyntaxError:
                pass
        line = exc.lineno
        raise ScriptSyntaxError(f"syntax error at line {line}: {exc.msg}", line=line) from None


def _comment_block(lines: list[str], header: str) -> list[str] | None:
    """The entries of a ``# header`` comment block (one requirement a line), or None."""
    for index, text in enumerate(lines):
        if text.startswith((f"#{header}", f"# {header}")):
            entries: list[str] = []
            for following in lines[index + 1:]:
                match = _BLOCK_LINE.match(following)
                if match is None:
                    break
                entries.append(match[1])
            return entries
    return None


def _pep723_script(code: str) -> dict[str, object] | None:
    blocks = [m for m in _PEP723.finditer(code) if m["type"] == "script"]
    if not blocks:
        return None
    if len(blocks) > 1:
        raise UsageError("the script has more than one '# /// script' block")
    content = "".join(line[2:] if line.startswith("# ") else line[1:]
                      for line in blocks[0]["content"].splitlines(keepends=True))
    try:
        return tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"the '# /// script' block is not valid TOML: {exc}") from None


def _canonical(spec: str) -> str:
    match = _REQUIREMENT_NAME.match(spec)
    name = match[1] if match else spec
    return re.sub(r"[-_.]+", "-", name).lower()


class _Requirements:
    """Requirements in order of first appearance; an explicit spec replaces an inferred one."""

    def __init__(self) -> None:
        self._specs: dict[str, tuple[str, bool, int | None]] = {}  # name → (spec, explicit, line)
        self._conflicts: list[tuple[str, str, int | None, str, int | None]] = []

    def add(self, spec: str, *, explicit: bool, line: int | None) -> None:
        name = _canonical(spec)
        current = self._specs.get(name)
        if current is None or (explicit and not current[1]):
            self._specs[name] = (spec, explicit, line)
        elif explicit and current[0] != spec:
            self._conflicts.append((name, current[0], current[2], spec, line))

    def result(self, repins: dict[str, tuple[str, int]]) -> list[str]:
        for name, spec, line, other, other_line in self._conflicts:
            if name not in repins:
                raise UsageError(
                    f"conflicting requirements for {name}: {spec!r}{_at(line)} and "
                    f"{other!r}{_at(other_line)}",
                    hint=f"add '# repin: {name}==<version>' to choose one",
                )
        return [repins[name][0] if name in repins else spec
                for name, (spec, _, _) in self._specs.items()]


def _at(line: int | None) -> str:
    return f" (line {line})" if line else " (extra_requirements)"
