"""
Running labwc headless (pixman) with real clients, and what the tests need
to look at it: grim, wayvnc through a small RFB viewer, zerocap-shot, and the
test window client. Shared by test-labwc.py and bench/labwc.
"""
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

BACKGROUND = b'\x00\x00\x00'  # labwc without a wallpaper

RC_XML = """<?xml version="1.0"?>
<labwc_config>
  <core><decoration>client</decoration></core>
  <placement><policy>center</policy></placement>
  <keyboard>
    <keybind key="F9"><action name="VirtualOutputAdd" output_name="VIRT-1"/></keybind>
    <keybind key="F10"><action name="VirtualOutputRemove" output_name="VIRT-1"/></keybind>
  </keyboard>
  {extra}
</labwc_config>
"""

KEYSYM = {'F9': 0xffc6, 'F10': 0xffc7}


def pattern(x, y, g=0):
    """The test window client's pixel (tests/lib/window-pattern.h) as RGB bytes."""
    return bytes(((x * 3 + g * 17) & 0xff, (y * 5) & 0xff, (x + y) & 0xff))


def pattern_image(w, h, g=0):
    return b''.join(pattern(x, y, g) for y in range(h) for x in range(w))


class Image:
    def __init__(self, width, height, rgb):
        self.width, self.height, self.rgb = width, height, bytes(rgb)

    @staticmethod
    def read_ppm(path):
        data = open(path, 'rb').read()
        parts = data.split(maxsplit=4)
        assert parts[0] == b'P6' and parts[3] == b'255', parts[:4]
        w, h = int(parts[1]), int(parts[2])
        return Image(w, h, parts[4][:w * h * 3])

    def crop(self, x, y, w, h):
        rows = [self.rgb[((y + r) * self.width + x) * 3:((y + r) * self.width + x + w) * 3]
                for r in range(h)]
        return Image(w, h, b''.join(rows))

    def find(self, sub):
        """Where sub lies in this image (its first row, then all rows checked)."""
        first = sub.rgb[:sub.width * 3]
        for y in range(self.height - sub.height + 1):
            row = self.rgb[y * self.width * 3:(y + 1) * self.width * 3]
            x = row.find(first)
            while x >= 0:
                if x % 3 == 0 and self.crop(x // 3, y, sub.width, sub.height).rgb == sub.rgb:
                    return x // 3, y
                x = row.find(first, x + 1)
        return None

    def diff(self, other):
        """Coordinates of differing pixels (all of them when the sizes differ)."""
        if (self.width, self.height) != (other.width, other.height):
            return [(-1, -1)]
        out = []
        for i in range(0, len(self.rgb), 3):
            if self.rgb[i:i + 3] != other.rgb[i:i + 3]:
                out.append(((i // 3) % self.width, (i // 3) // self.width))
        return out


class Labwc:
    """One labwc on a private runtime directory, WLR_BACKENDS=headless."""

    def __init__(self, binary, name, extra_rc='', outputs=1, extra_env=None, start_timeout=10):
        self.binary, self.name = binary, name
        self.dir = tempfile.mkdtemp(prefix='zc-labwc-%s.' % name)
        os.makedirs(os.path.join(self.dir, 'config', 'labwc'))
        with open(os.path.join(self.dir, 'config', 'labwc', 'rc.xml'), 'w') as f:
            f.write(RC_XML.format(extra=extra_rc))
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': self.dir,
            'XDG_RUNTIME_DIR': self.dir,
            'XDG_CONFIG_HOME': os.path.join(self.dir, 'config'),
            'WLR_BACKENDS': 'headless',
            'WLR_RENDERER': 'pixman',
            'WLR_HEADLESS_OUTPUTS': str(outputs),
            'WAYLAND_DISPLAY': 'wayland-0',
        }
        # e.g. WLR_RENDERER=gles2 and the render-node shim in the VM
        self.env.update(extra_env or {})
        self.children = []
        self.log = open(os.path.join(self.dir, 'labwc.log'), 'w')
        config = os.path.join(self.dir, 'config', 'labwc')
        self.proc = subprocess.Popen([binary, '-d', '-C', config],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        sock = os.path.join(self.dir, 'wayland-0')
        for _ in range(int(start_timeout / 0.05)):
            if self.proc.poll() is not None:
                break
            if os.path.exists(sock):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(sock)
                    s.close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError('%s did not start:\n%s' % (name, self.log_text()))

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        return open(os.path.join(self.dir, 'labwc.log'), errors='replace').read()[-4000:]

    def alive(self):
        return self.proc.poll() is None

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self, argv, timeout=20, log=None, debug=False):
        """Runs a client to its end; returns (exit status, its stderr text)."""
        env = dict(self.env)
        if debug:
            env['WAYLAND_DEBUG'] = '1'
        try:
            p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return -1, '', 'timeout'
        if log is not None:
            with open(self.path(log), 'wb') as f:
                f.write(p.stderr)
        return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')

    def spawn(self, argv, debug=False, extra_env=None, **kwargs):
        env = dict(self.env)
        env.update(extra_env or {})
        if debug:
            env['WAYLAND_DEBUG'] = '1'
        p = subprocess.Popen(argv, env=env, **kwargs)
        self.children.append(p)
        return p

    def grim(self, *args, debug=False):
        """grim into a PPM; returns (Image or None, stderr)."""
        out = self.path('grim.ppm')
        if os.path.exists(out):
            os.unlink(out)
        rc, _, err = self.run(['grim', '-t', 'ppm'] + list(args) + [out], debug=debug)
        return (Image.read_ppm(out) if rc == 0 else None), err

    def stop(self):
        """SIGTERM under the clients still connected (captures may be running);
        True when labwc was still running and exited cleanly."""
        ok = self.alive()
        if ok:
            self.proc.send_signal(signal.SIGTERM)
            try:
                ok = self.proc.wait(timeout=10) == 0
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                ok = False
        for p in self.children:
            if p.poll() is None:
                p.kill()
            p.wait()
        self.log.close()
        return ok

    def cleanup(self):
        if not os.environ.get('CT_KEEP_TMP'):
            shutil.rmtree(self.dir, ignore_errors=True)


def read_line(proc, timeout, who):
    """A line of proc's stdout (a pipe), within timeout seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise RuntimeError('%s: no answer' % who)
    return proc.stdout.readline().decode().strip()


class Window:
    """The test window client (tests/lib/zt-window-client.c)."""

    def __init__(self, comp, client, app_id, size, extra=()):
        self.app_id = app_id
        self.proc = comp.spawn([client, '--app-id', app_id, '--size', size] + list(extra),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        self.width, self.height = self.cmd('size')
        time.sleep(0.2)  # mapped and placed

    def line(self, timeout=5):
        return read_line(self.proc, timeout, 'window ' + self.app_id)

    def cmd(self, text):
        self.proc.stdin.write((text + '\n').encode())
        self.proc.stdin.flush()
        while True:
            line = self.line()
            if line.startswith('ok'):
                words = line.split()
                return tuple(int(w) for w in words[1:])
            if line.startswith('error'):
                raise RuntimeError('window %s: %s: %s' % (self.app_id, text, line))

    def quit(self):
        try:
            self.proc.stdin.write(b'quit\n')
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=5)


def window_identifier(comp, shot, app_id):
    """The window's ext-foreign-toplevel identifier, from `zerocap-shot list`."""
    for _ in range(50):
        _, out, _ = comp.run([shot, 'list'])
        for line in out.splitlines():
            if line.startswith('window ') and ('app_id "%s"' % app_id) in line:
                return line.split()[1].rstrip(':')
        time.sleep(0.1)
    return None


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Wayvnc:
    """wayvnc on one output; with input, it adds a virtual pointer and keyboard."""

    def __init__(self, comp, output, input=True, log='wayvnc.log'):
        self.port = free_port()
        self.comp = comp
        env_log = open(comp.path(log), 'w')
        argv = ['wayvnc', '-o', output] + ([] if input else ['-d'])
        self.proc = comp.spawn(argv + ['127.0.0.1', str(self.port)],
                               debug=True, stdout=env_log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(('127.0.0.1', self.port)).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError('wayvnc did not start')

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Viewer:
    """An RFB 3.8 viewer: raw 32-bit frames, pointer and key events."""

    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=10)
        version = self.recv(12)
        assert version.startswith(b'RFB 003.'), version
        self.s.sendall(b'RFB 003.008\n')
        n = self.recv(1)[0]
        types = self.recv(n)
        assert 1 in types, 'no security type None: %r' % types
        self.s.sendall(b'\x01')
        assert struct.unpack('>I', self.recv(4))[0] == 0, 'security failed'
        self.s.sendall(b'\x01')  # shared
        self.width, self.height = struct.unpack('>HH', self.recv(4))
        self.recv(16)
        self.recv(struct.unpack('>I', self.recv(4))[0])
        # 32 bpp, depth 24, little endian, true colour, 8 bits each at 16, 8, 0.
        self.s.sendall(struct.pack('>B3xBBBBHHHBBB3x', 0, 32, 24, 0, 1, 255, 255, 255,
                                   16, 8, 0))
        self.s.sendall(struct.pack('>BxHi', 2, 1, 0))  # raw only
        self.fb = bytearray(self.width * self.height * 4)
        self.request(False)

    def recv(self, n):
        data = b''
        while len(data) < n:
            chunk = self.s.recv(n - len(data))
            if not chunk:
                raise RuntimeError('wayvnc closed the connection')
            data += chunk
        return data

    def request(self, incremental):
        self.s.sendall(struct.pack('>BBHHHH', 3, int(incremental), 0, 0,
                                   self.width, self.height))

    def pointer(self, x, y, buttons=0):
        self.s.sendall(struct.pack('>BBHH', 5, buttons, x, y))

    def key(self, name):
        for down in (1, 0):
            self.s.sendall(struct.pack('>BBxxI', 4, down, KEYSYM[name]))

    def pump(self, seconds):
        """Reads updates for this long; returns how many arrived."""
        updates = 0
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return updates
            ready, _, _ = select.select([self.s], [], [], left)
            if not ready:
                continue
            kind = self.recv(1)[0]
            if kind == 0:
                self.recv(1)
                for _ in range(struct.unpack('>H', self.recv(2))[0]):
                    x, y, w, h, enc = struct.unpack('>HHHHi', self.recv(12))
                    if enc == 0:
                        data = self.recv(w * h * 4)
                        for r in range(h):
                            o = ((y + r) * self.width + x) * 4
                            self.fb[o:o + w * 4] = data[r * w * 4:(r + 1) * w * 4]
                    elif enc == -223:  # DesktopSize
                        self.width, self.height = w, h
                        self.fb = bytearray(w * h * 4)
                    else:
                        raise RuntimeError('unexpected encoding %d' % enc)
                updates += 1
                self.request(True)
            elif kind == 2:
                pass
            elif kind == 3:
                self.recv(3)
                self.recv(struct.unpack('>I', self.recv(4))[0])
            else:
                raise RuntimeError('unexpected RFB message %d' % kind)

    def snapshot(self, settle=1.0, timeout=10.0):
        """The picture once no update came for `settle` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.pump(settle) == 0:
                break
        rgb = bytearray(self.width * self.height * 3)
        rgb[0::3] = self.fb[2::4]
        rgb[1::3] = self.fb[1::4]
        rgb[2::3] = self.fb[0::4]
        return Image(self.width, self.height, rgb)

    def close(self):
        self.s.close()
