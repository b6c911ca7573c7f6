"""OpenVINO, imported without its usage telemetry.

The openvino wheel depends on openvino-telemetry, and `import openvino` starts it
(openvino/tools/ovc/__init__.py): unless the user has opted out in ~/intel/openvino_telemetry,
every import counts itself in ~/intel/stats, keeps a client id in ~/intel/openvino_ga_cid and
forks the process to post an "import" event to Google Analytics. A self-hosted service for
private documents reports to no one. The fork is not free either: `import openvino` took
0.30-0.40 s with it and 0.17-0.26 s without on the 2-core AMD EPYC (though `ragprep serve`,
where that import overlaps the app's own, started in the same time either way).

With the telemetry package blocked in `sys.modules`, OpenVINO takes the fallback it ships for a
missing one (openvino.tools.ovc.telemetry_stub, whose methods do nothing). Every import of
OpenVINO in ragprep goes through `openvino_module()`.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for annotations elsewhere; nothing is imported when running
    from openvino import CompiledModel as CompiledModel
    from openvino import Model as Model

TELEMETRY_PACKAGE = "openvino_telemetry"


def openvino_module() -> ModuleType:
    """The `openvino` module, its telemetry blocked if this is its first import here."""
    if "openvino" not in sys.modules:
        # None in sys.modules makes `import openvino_telemetry` raise ImportError, also when
        # something in this process imported the package before (it keeps its own reference).
        sys.modules[TELEMETRY_PACKAGE] = None  # type: ignore[assignment]
    import openvino

    module: ModuleType = openvino
    return module
