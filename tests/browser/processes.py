"""Start a site's web server and worker for a browser test, wait for its home page, stop both."""

import subprocess
import time

import httpx


def start(commands, logs, url, **popen):
    """Run ``commands`` ({log name: argv}) with their output in ``logs``/<name>.log, each in a
    session of its own; return the processes once ``url``/ answers 200 (60 s at most)."""
    logs.mkdir(parents=True, exist_ok=True)
    processes = []
    for name, argv in commands.items():
        with open(logs / f"{name}.log", "wb") as out:  # the child keeps its own descriptor
            processes.append(
                subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen
                )
            )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200:
                return processes
        except httpx.HTTPError:
            time.sleep(0.3)
    stop(processes)
    log = logs / "web.log"
    raise RuntimeError(f"{url} did not start:\n" + log.read_text(errors="replace")[-4000:])


def stop(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
