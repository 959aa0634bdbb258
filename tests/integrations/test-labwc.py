#!/usr/bin/env python3
"""
labwc with zerocap (integrations/labwc): Debian's labwc source, patched and
built against the staged zerocap, runs headless (pixman) next to Debian's own
labwc binary, the same scene in both: one 1280x720 output, the test window
client (200x150, a known pattern) placed in the middle, no decorations.

- Pixels: grim -o (the output), grim -T (the window), wayvnc (the output
  through an RFB viewer that asks for raw frames), grim -c (labwc's cursor
  where it starts) and grim -o over wlr-screencopy (below): the patched
  labwc gives exactly the pixels of the unpatched one. After grim -c, the
  patched labwc's output has no cursor in it (wlroots' software cursor stays
  in Debian's labwc's output: reported, not compared). The output
  image is the window pattern where the window is and the background
  elsewhere; the window image is the pattern, pixel for pixel.
- zerocap serves: the patched labwc offers zerocap's own options global,
  the unpatched one does not. Once wayvnc's virtual pointer moved the
  pointer next to the window, grim -c shows the cursor there and nowhere
  else, and grim -c -T (the pointer in a window capture, placed through the
  view's content tree) equals that image cut to the window. (Debian's labwc
  shows no cursor in captures after that move, so there is nothing to
  compare with.) A client's own cursor surface (the test client with
  --cursor) is drawn, pixel for pixel, at the pointer less its hotspot, in
  output and window captures; off the window labwc's cursor is back.
- labwc's privileged-protocol filter works on zerocap's globals as on
  wlroots': with only wlr-screencopy allowed, grim sees no
  ext-image-copy-capture global and captures the same pixels over
  screencopy, on both.
- Lifetimes: clients killed mid-capture (output and window sessions on an
  animated window), a window closed while captured (the session stops), a
  virtual output removed while captured (VirtualOutputRemove from a key
  through wayvnc's virtual keyboard: the session stops); labwc lives on,
  captures again, and exits cleanly on SIGTERM, every time with its
  clients still connected, the last time with output and window captures
  running.

- The ScreenCast portal (xdg-desktop-portal frontend, xdg-desktop-portal-
  zerocap, PipeWire, a consumer; tests/integrations/labwc-portal.c): a frame
  after the window appeared is the grim -c image (the share embeds the
  cursor), on both labwcs; the share
  lives until the consumer leaves.

  test-labwc.py ZEROCAP_SRCDIR ZEROCAP_BUILDDIR WORKDIR ZEROCAP_SHOT WINDOW_CLIENT PORTAL_HELPER
  ($ZC_PORTAL, $ZC_PORTAL_DIR: the portal backend and its .portal file)
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labwc import (BACKGROUND, Image, Labwc, Viewer, Wayvnc, Window,  # noqa: E402
                   pattern_image, read_line, window_identifier)

SYSTEM_LABWC = '/usr/bin/labwc'
src, zbuild, work, shot, client, portal_helper = sys.argv[1:7]
failures = 0


def check(ok, what):
    global failures
    print('%s: %s' % ('ok' if ok else 'FAIL', what), flush=True)
    if not ok:
        failures += 1
    return ok


def section(name):
    print('==== ' + name, flush=True)


def build():
    section('build the patched labwc (apt-get source, patch, meson)')
    p = subprocess.run([os.path.join(src, 'integrations', 'labwc', 'build.sh'), src, zbuild, work],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not check(p.returncode == 0, 'build.sh: exit %d' % p.returncode):
        print(p.stderr)
        return None
    return p.stdout.strip().splitlines()[-1]


def scene(binary, name, patched):
    """The scene on one labwc; returns its images by name."""
    section('%s: output, window, wayvnc, cursor' % name)
    images = {}
    comp = Labwc(binary, name)
    try:
        win = Window(comp, client, 'zt-a', '200x150')
        want_window = Image(win.width, win.height, pattern_image(win.width, win.height))
        out, err = comp.grim('-o', 'HEADLESS-1', debug=True)
        if check(out is not None, 'grim -o HEADLESS-1'):
            images['output'] = out
            at = out.find(want_window)
            check(at is not None, 'the window pattern is in the output image at %s' % (at,))
            if at is not None:
                images['at'] = at
                outside = [i for i in range(0, len(out.rgb), 3)
                           if out.rgb[i:i + 3] != BACKGROUND and not (
                               at[0] <= (i // 3) % out.width < at[0] + win.width and
                               at[1] <= (i // 3) // out.width < at[1] + win.height)]
                check(not outside, 'background everywhere else (%d pixels differ)' % len(outside))
        check(('"zerocap_capture_options_manager_v1"' in err) == patched,
              'zerocap\'s own global is %s' % ('offered' if patched else 'absent'))
        ident = window_identifier(comp, shot, 'zt-a')
        if check(ident is not None, 'the window is listed'):
            img, err = comp.grim('-T', ident)
            if check(img is not None, 'grim -T %s: %s' % (ident, err.strip())):
                images['window'] = img
                check(img.rgb == want_window.rgb and img.width == win.width,
                      'the window image is the pattern (%dx%d, %d pixels differ)' %
                      (img.width, img.height, len(img.diff(want_window))))
        vnc = Wayvnc(comp, 'HEADLESS-1', input=False)
        viewer = Viewer(vnc.port)
        shown = viewer.snapshot()
        images['vnc'] = shown
        if 'output' in images:
            check(not shown.diff(images['output']),
                  'wayvnc shows the output image (%d pixels differ)' %
                  len(shown.diff(images['output'])))
        viewer.close()
        vnc.stop()
        img, _ = comp.grim('-c', '-o', 'HEADLESS-1')
        if check(img is not None, 'grim -c -o HEADLESS-1 where the pointer starts'):
            images['cursor'] = img
            check(img.diff(images.get('output', img)),
                  'labwc\'s cursor is in it (%d pixels)' % len(img.diff(images.get('output', img))))
        img, _ = comp.grim('-o', 'HEADLESS-1')
        baked = len(img.diff(images['output'])) if img is not None and 'output' in images else -1
        if patched:
            check(baked == 0, 'no cursor baked into the output afterwards (%d pixels)' % baked)
        else:
            print('info: %d pixels of cursor baked into the output afterwards' % baked)
        if patched and 'at' in images:
            vnc = Wayvnc(comp, 'HEADLESS-1')
            viewer = Viewer(vnc.port)
            # Over the background just above and left of the window (labwc's
            # own cursor there; the window client sets none), the image
            # reaching into the window.
            x, y = images['at'][0] - 4, images['at'][1] - 4
            viewer.pointer(x, y)
            viewer.pump(0.5)
            img, _ = comp.grim('-c', '-o', 'HEADLESS-1')
            if check(img is not None, 'grim -c -o HEADLESS-1 with the pointer at %d,%d' % (x, y)):
                images['moved'] = img
                changed = img.diff(images['output'])
                near = [p for p in changed if x - 32 <= p[0] <= x + 32 and y - 32 <= p[1] <= y + 32]
                check(changed and len(near) == len(changed),
                      'the cursor is drawn at the pointer, nowhere else (%d pixels, %d near)' %
                      (len(changed), len(near)))
            if ident is not None and 'moved' in images:
                img, _ = comp.grim('-c', '-T', ident)
                cut = images['moved'].crop(images['at'][0], images['at'][1], win.width,
                                            win.height)
                check(img is not None and not img.diff(cut),
                      'grim -c -T: the window with the pointer, as on the output (%s)' %
                      ('%d pixels differ' % len(img.diff(cut)) if img else 'failed'))
            viewer.close()
            vnc.stop()
        win.quit()
    except Exception as e:  # a failed step ends the scene, not the test
        check(False, '%s: %s' % (name, e))
    finally:
        check(comp.stop(), '%s ran to the end and exited cleanly on SIGTERM' % name)
        if failures:
            print(comp.log_text())
        comp.cleanup()
    return images


def compare(system, patched):
    section('patched against unpatched: the same pixels')
    for key, what in (('output', 'grim -o'), ('window', 'grim -T'), ('vnc', 'wayvnc'),
                      ('cursor', 'grim -c -o'), ('screencopy', 'grim -o over wlr-screencopy'),
                      ('portal', 'the ScreenCast portal')):
        a, b = system.get(key), patched.get(key)
        if check(a is not None and b is not None, '%s: both captured' % what):
            d = a.diff(b)
            check(not d, '%s: identical (%d pixels differ, first %s)' % (what, len(d), d[:3]))


def privileged(binary, name, output):
    section('%s: privileged interfaces, only wlr-screencopy allowed' % name)
    # labwc 0.20.2 never clears its allow-all default for a
    # <privilegedInterfaces> with children (rcxml.c handles that name after
    # "parse children of nested nodes"); a leaf of that name clears it.
    comp = Labwc(binary, 'privileged', extra_rc='<privilegedInterfaces>none'
                 '</privilegedInterfaces><privilegedInterfaces>'
                 '<allow>zwlr_screencopy_manager_v1</allow></privilegedInterfaces>')
    try:
        Window(comp, client, 'zt-a', '200x150')
        img, err = comp.grim('-o', 'HEADLESS-1', debug=True)
        check('"ext_image_copy_capture_manager_v1"' not in err and
              '"ext_output_image_capture_source_manager_v1"' not in err,
              'ext-image-copy-capture and its output source are hidden')
        check('"zwlr_screencopy_manager_v1"' in err, 'wlr-screencopy is offered')
        check('zwlr_screencopy_frame_v1' in err and 'ext_image_copy_capture_session_v1' not in err,
              'grim captured over wlr-screencopy')
        check(img is not None and output is not None and not img.diff(output),
              'the same pixels as without the filter')
    except Exception as e:
        check(False, 'privileged: %s' % e)
        img = None
    finally:
        check(comp.stop(), 'labwc exited cleanly')
        comp.cleanup()
    return img


def portal(binary, name, output):
    """The ScreenCast portal on one labwc: xdg-desktop-portal-zerocap to a PipeWire
    consumer. The share embeds the cursor: output is the scene's grim -c image."""
    section('%s: ScreenCast portal -> xdg-desktop-portal-zerocap -> PipeWire' % name)
    comp = Labwc(binary, 'portal')
    frame = None
    try:
        log = open(comp.path('portal.log'), 'w')
        env = {k: os.environ[k] for k in ('ZC_PORTAL', 'ZC_PORTAL_DIR')}
        p = comp.spawn([portal_helper, 'wayland-0', 'HEADLESS-1'], extra_env=env,
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
        line = read_line(p, 60, 'labwc-portal')
        if check(line == 'streaming 1280 720', 'the share started: %s' % line):
            # The window appearing changes the screen: frames come.
            Window(comp, client, 'zt-a', '200x150')
            time.sleep(0.5)
            p.stdin.write(('snap %s\n' % comp.path('portal.ppm')).encode())
            p.stdin.flush()
            line = read_line(p, 10, 'labwc-portal')
            if check(line.startswith('ok'), 'a settled frame from PipeWire: %s' % line):
                frame = Image.read_ppm(comp.path('portal.ppm'))
                check(output is not None and not frame.diff(output),
                      'the frame is the output image with the cursor (%d pixels differ)' %
                      len(frame.diff(output)) if output else 'no output image')
        p.stdin.write(b'quit\n')
        p.stdin.flush()
        last = ''
        while True:
            line = read_line(p, 30, 'labwc-portal')
            if not line:
                break
            last = line
        check(p.wait(timeout=30) == 0 and last == 'ok', 'the share lived to the end (%s)' % last)
        if failures:
            log.flush()
            print(open(comp.path('portal.log'), errors='replace').read()[-3000:])
    except Exception as e:
        check(False, 'portal: %s' % e)
    finally:
        check(comp.stop(), 'labwc exited cleanly')
        comp.cleanup()
    return frame


def client_cursor(binary):
    """A client's own cursor surface reaches zerocap (patched labwc only)."""
    section('labwc-zerocap: a client\'s cursor surface in captures')
    comp = Labwc(binary, 'client-cursor')
    try:
        vnc = Wayvnc(comp, 'HEADLESS-1')
        viewer = Viewer(vnc.port)
        viewer.pump(0.3)
        # After wayvnc's pointer exists: the client's wl_pointer then gets enter.
        win = Window(comp, client, 'zt-cur', '200x150', ['--cursor'])
        base, _ = comp.grim('-o', 'HEADLESS-1')
        at = base.find(Image(200, 150, pattern_image(200, 150))) if base else None
        if check(at is not None, 'the window is at %s' % (at,)):
            x, y = at[0] + 100, at[1] + 75
            viewer.pointer(x, y)
            viewer.pump(0.5)
            img, _ = comp.grim('-c', '-o', 'HEADLESS-1')
            want = Image(16, 16, pattern_image(16, 16, 50))
            # wayvnc's absolute motion lands the pointer within a pixel of x, y.
            found = img.find(want) if img else None
            check(found is not None and abs(found[0] - (x - 2)) <= 1 and
                  abs(found[1] - (y - 3)) <= 1,
                  'grim -c: the client\'s 16x16 cursor, pixel for pixel, at the pointer '
                  'less its hotspot 2,3 (at %s, pointer %d,%d)' % (found, x, y))
            if found is not None:
                outside = len(img.diff(base)) - len(base.crop(*found, 16, 16).diff(want))
                check(outside == 0, 'and nothing else changed (%d pixels)' % outside)
                ident = window_identifier(comp, shot, 'zt-cur')
                img, _ = comp.grim('-c', '-T', ident) if ident else (None, '')
                got = img.crop(found[0] - at[0], found[1] - at[1], 16, 16) if img else None
                check(got is not None and not got.diff(want),
                      'grim -c -T: the same cursor in the window capture')
            viewer.pointer(at[0] - 40, at[1] - 40)
            viewer.pump(0.5)
            img, _ = comp.grim('-c', '-o', 'HEADLESS-1')
            near = img.crop(at[0] - 40, at[1] - 40, 16, 16) if img else None
            check(near is not None and near.diff(Image(16, 16, BACKGROUND * 256)) and
                  near.diff(want), 'off the window labwc\'s own cursor is back')
        viewer.close()
        vnc.stop()
        win.quit()
    except Exception as e:
        check(False, 'client cursor: %s' % e)
    finally:
        check(comp.stop(), 'labwc exited cleanly')
        comp.cleanup()


def ended_with(proc, timeout):
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None
    return proc.stderr.read().decode(errors='replace')


def lifetimes(binary, output):
    section('lifetimes: killed clients, a closed window, a removed output')
    comp = Labwc(binary, 'lifetimes')
    try:
        win = Window(comp, client, 'zt-anim', '200x150', ['--animate', '20'])
        ident = window_identifier(comp, shot, 'zt-anim')
        for target in (['-o', 'HEADLESS-1'], ['-w', ident], ['-c', '-w', ident]):
            for _ in range(3):
                p = comp.spawn([shot, '-q', '-n', '100000'] + target + ['-'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.4)
                p.kill()
                p.wait()
            check(comp.alive(), 'zerocap-shot %s killed mid-capture three times' % ' '.join(target))
        p = comp.spawn(['grim', '-o', 'HEADLESS-1', '-'], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        time.sleep(0.05)
        p.kill()
        p.wait()
        img, _ = comp.grim('-T', ident)
        check(img is not None and img.width == 200, 'window capture goes on afterwards')

        p = comp.spawn([shot, '-q', '-n', '100000', '-w', ident, '-'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        win.quit()
        err = ended_with(p, 10)
        check(err is not None and 'stopped' in err,
              'window closed while captured: the session stopped (%s)' % (err or 'hung').strip())

        win = Window(comp, client, 'zt-b', '200x150')
        vnc = Wayvnc(comp, 'HEADLESS-1')
        viewer = Viewer(vnc.port)
        viewer.key('F9')
        viewer.pump(0.5)
        _, listed, _ = comp.run([shot, 'list'])
        if check('VIRT-1' in listed, 'VirtualOutputAdd made VIRT-1'):
            img, _ = comp.grim('-o', 'VIRT-1')
            check(img is not None and img.rgb.count(BACKGROUND[:1]) == len(img.rgb),
                  'VIRT-1 is captured: background')
            p = comp.spawn([shot, '-q', '-n', '100000', '-o', 'VIRT-1', '-'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            viewer.key('F10')
            viewer.pump(0.2)
            err = ended_with(p, 10)
            check(err is not None and 'stopped' in err,
                  'output removed while captured: the session stopped (%s)' %
                  (err or 'hung').strip())
        viewer.close()
        vnc.stop()
        check(comp.alive(), 'labwc lives on')
        img, _ = comp.grim('-o', 'HEADLESS-1')
        check(img is not None and output is not None and not img.diff(output),
              'the output is captured as before')
        # Captures running when labwc is told to quit (below).
        for target in (['-o', 'HEADLESS-1'], ['-w', window_identifier(comp, shot, 'zt-b')]):
            comp.spawn([shot, '-q', '-n', '100000'] + target + ['-'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
    except Exception as e:
        check(False, 'lifetimes: %s' % e)
    finally:
        check(comp.stop(), 'labwc exited cleanly on SIGTERM')
        if failures:
            print(comp.log_text())
        comp.cleanup()


for program in ('grim', 'wayvnc', SYSTEM_LABWC):
    if subprocess.run(['sh', '-c', 'command -v "$0"', program],
                      stdout=subprocess.DEVNULL).returncode != 0:
        check(False, '%s is installed' % program)
        sys.exit(1)
patched_labwc = build()
if patched_labwc is None:
    sys.exit(1)
system = scene(SYSTEM_LABWC, 'labwc', False)
patched = scene(patched_labwc, 'labwc-zerocap', True)
system['screencopy'] = privileged(SYSTEM_LABWC, 'labwc', system.get('output'))
patched['screencopy'] = privileged(patched_labwc, 'labwc-zerocap', patched.get('output'))
system['portal'] = portal(SYSTEM_LABWC, 'labwc', system.get('cursor'))
patched['portal'] = portal(patched_labwc, 'labwc-zerocap', patched.get('cursor'))
compare(system, patched)
client_cursor(patched_labwc)
lifetimes(patched_labwc, patched.get('output'))
print('%d failure(s)' % failures)
sys.exit(1 if failures else 0)
