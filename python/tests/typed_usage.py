"""Not a test module: `make check-python` type-checks it with mypy --strict,
as an application's code using dnnq's hints would be. Model.run's result
for a dict is a dict, for a list of arrays a list, and for one array
whatever the model gives (an array, or a dict for several outputs), which
needs no narrowing; with the union run returned, each line below failed."""
from typing import Any, Dict, List

import numpy as np
import numpy.typing as npt

import dnnq


def top1(m: dnnq.Model, x: npt.NDArray[np.float32]) -> int:
    return int(m.run(x).argmax())


def vad_step(m: dnnq.Model, frame: npt.NDArray[np.float32],
             state: npt.NDArray[np.float32]) -> float:
    y: Dict[str, npt.NDArray[Any]] = m.run({"input": frame, "state": state})
    return float(y["output"][0, 0])


def pair(m: dnnq.Model, a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> int:
    outs: List[npt.NDArray[Any]] = m.run([a, b], timeout=1.0)
    return len(outs)


async def top1_async(m: dnnq.Model, x: npt.NDArray[np.float32]) -> int:
    y: Dict[str, npt.NDArray[Any]] = await m.run_async({"x": x})
    return int((await m.run_async(x)).argmax()) + len(y)


def zero_copy(c: dnnq.Client) -> int:
    with c.model("digits") as m, m.request(batch=2) as r:
        r.inputs["input"][:] = 0
        return int(r.run(timeout=1.0)["logits"].argmax()) + int(
            r.submit().result(timeout=1.0)["logits"].argmax())
