"""Drive an interactive command through a pseudo-terminal, as a person would.

    python3 drive.py '<json [[prompt, answer], ...]>' command [args...]

Waits for each prompt in the output, waits a moment as a person would, types its
answer and Enter, then reads to the end. Prints everything the command wrote (the transcript) and exits with the command's
exit code; exits 124 when a prompt does not appear within 20 seconds.

With DRIVE_STDOUT=path the command's standard output goes to that file instead (as
`command > path` typed in a terminal): only standard error is the terminal, and the
transcript holds only what was written there.
"""

import json
import os
import pty
import select
import sys
import time


def main() -> int:
    steps = json.loads(sys.argv[1])
    command = sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        stdout_path = os.environ.pop("DRIVE_STDOUT", None)
        if stdout_path:
            out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
            os.close(out)
        os.execvp(command[0], command)
    transcript = b""

    def read_some(deadline: float) -> bool:
        nonlocal transcript
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
        if not ready:
            return False
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return False
        if not chunk:
            return False
        transcript += chunk
        return True

    seen = 0
    for prompt, answer in steps:
        deadline = time.time() + 20
        while prompt.encode() not in transcript[seen:]:
            if not read_some(deadline):
                sys.stdout.write(transcript.decode(errors="replace"))
                sys.stdout.write(f"\n[drive.py: no prompt {prompt!r}]\n")
                return 124
        seen = transcript.index(prompt.encode(), seen) + len(prompt)
        # Type like a person, not ahead of the prompt: the password prompt turns echo
        # off just after printing itself, and type-ahead would be echoed.
        time.sleep(0.3)
        os.write(fd, answer.encode() + b"\r")
    deadline = time.time() + 20
    while read_some(deadline):
        pass
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(transcript.decode(errors="replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
