"""The front-end libraries (htmx, Chart.js, Cytoscape.js), served from the npm install that
`make install` makes (`npm ci` from package-lock.json): nothing third-party is committed."""

from __future__ import annotations

import os
from pathlib import Path

from vigil.errors import VigilError

NODE_MODULES_ENV = "VIGIL_NODE_MODULES"
# the URL name under /vendor/ -> the file inside node_modules
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
}


def find_node_modules() -> Path:
    """$VIGIL_NODE_MODULES, else the node_modules of the checkout this package lives in (or
    of the current folder). Fails with the remedy when a library is missing."""
    given = os.environ.get(NODE_MODULES_ENV)
    if given:
        candidates = [Path(given)]
    else:
        here = Path(__file__).resolve()
        candidates = [parent / "node_modules" for parent in here.parents]
        candidates.append(Path.cwd() / "node_modules")
    for folder in candidates:
        if folder.is_dir() and all((folder / f).is_file() for f in VENDOR_FILES.values()):
            return folder
    where = candidates[0] if given else "the repository root"
    missing = ", ".join(VENDOR_FILES.values())
    raise VigilError(
        f"the web app's front-end libraries ({missing}) are not in {where}: run `make install` "
        f"(npm ci) in the repository, or set {NODE_MODULES_ENV} to a node_modules folder"
    )


def vendor_files(node_modules: Path) -> dict[str, Path]:
    return {name: node_modules / path for name, path in VENDOR_FILES.items()}
