#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in for qemu-system-* that misbehaves on purpose, for the harness
tests.  It takes the QMP chardev QEMUMachine gives QEMU (-chardev
socket,id=mon,path=PATH: QEMU connects to the harness), keeps the console's
socketpair end (-chardev socket,id=console,fd=N) open and ignores the rest.  XV_FAKE picks
the misbehaviour:
  silent         never opens the QMP socket
  exit           prints an error and exits with status 1 at once
  crash-on-quit  answers every command, aborts (SIGABRT) on quit
  hang           answers qmp_capabilities, then never answers again
  die            answers qmp_capabilities, then after 1 s closes the QMP
                 socket and 0.5 s later dies of SIGSEGV
  events         sends two XV_TICK events after qmp_capabilities, quits cleanly
  utf8           writes UTF8_TEXT to the console in two writes that split a
                 3-byte character at byte 4096, then acts as plain
  stay           acts as plain, and runs on when the QMP connection closes
                 (as QEMU does) instead of exiting
  quit-exit1     answers quit, then exits with status 1 (an error on quit)
  double-fork    starts 'sleep 6062' as a daemon (fork, setsid, fork: it is
                 nobody's child), then acts as plain
"""

import json
import os
import signal
import socket
import sys
import time

mode = os.environ.get('XV_FAKE', 'silent')
args = sys.argv[1:]
qmp_path = console_fd = None
for i, a in enumerate(args):
    if a == '-chardev' and args[i + 1].startswith('socket,id=mon,'):
        for kv in args[i + 1].split(','):
            if kv.startswith('path='):
                qmp_path = kv[5:]
    if a == '-chardev' and args[i + 1].startswith('socket,id=console,'):
        for kv in args[i + 1].split(','):
            if kv.startswith('fd='):
                console_fd = int(kv[3:])

# 4094 ASCII bytes, then U+20AC (3 bytes: the third is byte 4097)
UTF8_TEXT = 'x' * 4094 + '\u20ac-split-euro\n'

if mode == 'utf8' and console_fd is not None:
    data = UTF8_TEXT.encode()
    con = socket.socket(fileno=os.dup(console_fd))
    con.sendall(data[:4096])
    time.sleep(0.3)
    con.sendall(data[4096:])
    con.close()

if mode == 'half-line' and console_fd is not None:
    # a line in two writes, a number split after its first digit; the
    # second comes once QMP is up and the test waits on the console
    def half_line(con):
        con.sendall(b'XV-N: 1')
        time.sleep(1.5)
        con.sendall(b'23\nXV-END\n')
        con.close()
    import threading
    threading.Thread(target=half_line, daemon=True,
                     args=(socket.socket(fileno=os.dup(console_fd)),)).start()

if mode == 'spam' and console_fd is not None:
    # 8 MiB of console lines in 4 KiB writes, then DONE
    def spam(con):
        line = (b'y' * 79 + b'\n') * 51
        for _ in range(8 * 1024 * 1024 // len(line)):
            con.sendall(line)
        con.sendall(b'DONE\n')
    import threading
    threading.Thread(target=spam, daemon=True,
                     args=(socket.socket(fileno=os.dup(console_fd)),)).start()

if mode == 'double-fork':
    # the pipe's write end is close-on-exec: EOF on it means the daemon is
    # 'sleep 6062' by now (the runner must not catch it before its exec,
    # when its command line is still empty)
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, w)
            os.closerange(w + 1, 1024)
            os.execvp('sleep', ['sleep', '6062'])
        os._exit(0)
    os.close(w)
    os.wait()
    os.read(r, 1)
    os.close(r)

if mode == 'exit':
    sys.stderr.write('fakeqemu: -fake: invalid option\n')
    sys.exit(1)

if mode == 'silent' or not qmp_path:
    time.sleep(3600)
    sys.exit(0)

c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(qmp_path)
f = c.makefile('rwb', buffering=0)


def send(obj):
    f.write(json.dumps(obj).encode() + b'\r\n')


send({'QMP': {'version': {'qemu': {'major': 11, 'minor': 1, 'micro': 1},
                          'package': 'fake'}, 'capabilities': []}})
def requests():
    """JSON objects as the client sends them (not newline-terminated)."""
    dec, buf = json.JSONDecoder(), ''
    while True:
        data = c.recv(4096)
        if not data:
            return
        buf += data.decode()
        while buf.strip():
            try:
                obj, end = dec.raw_decode(buf.lstrip())
            except ValueError:
                break
            buf = buf.lstrip()[end:]
            yield obj


for req in requests():
    name = req.get('execute')
    rid = req.get('id')
    if name == 'qmp_capabilities':
        send({'return': {}, 'id': rid})
        if mode == 'die':
            # the QMP socket goes first and the process a moment later,
            # as when QEMU tears down while crashing: a harness that looks
            # at the process right at EOF sees it still running
            time.sleep(1)
            c.close()
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGSEGV)
        if mode == 'events':
            for n in (1, 2):
                send({'event': 'XV_TICK', 'data': {'n': n},
                      'timestamp': {'seconds': 0, 'microseconds': 0}})
        continue
    if mode == 'hang':
        continue
    if name == 'xv-slow':
        # the reply comes after the client gave up waiting for it
        time.sleep(2)
        send({'return': {'name': 'slow'}, 'id': rid})
        continue
    if name == 'xv-exit':
        # QEMU exits by itself (an error exit, or killed with SIGTERM)
        send({'return': {}, 'id': rid})
        sys.exit(3)
    if name == 'quit':
        if mode == 'crash-on-quit':
            os.abort()
        if mode == 'quit-exit1':
            send({'return': {}, 'id': rid})
            sys.exit(1)
        send({'return': {}, 'id': rid})
        sys.exit(0)
    send({'return': {}, 'id': rid})

if mode == 'stay':
    time.sleep(3600)
