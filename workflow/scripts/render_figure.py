"""Rules render_<figure>: execute the figure's notebook with papermill.

The notebook receives its inputs, outputs and parameters (sessions used, substitutes,
skipped inputs, evaluation mode, seed) as papermill parameters; the executed notebook
is the rule's log.
"""

from pathlib import Path

import papermill

from ner_repro.core import jobs

KERNEL = "python3"  # the ipykernel of the environment running the workflow


def main(smk):
    spec = smk.params.spec
    for path in spec.outputs.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        smk.input.notebook,
        smk.log.notebook,
        parameters={"inputs": spec.inputs, "outputs": spec.outputs, "params": spec.params},
        kernel_name=KERNEL,
        cwd=str(Path.cwd()),
        progress_bar=False,
        log_output=False,
    )
    missing = [p for p in spec.outputs.values() if not Path(p).is_file()]
    if missing:
        raise RuntimeError(f"notebook {smk.input.notebook} did not write: {', '.join(missing)}")


jobs.run(snakemake, main)
