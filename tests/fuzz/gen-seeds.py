#!/usr/bin/env python3
"""Writes the seed corpus of zerocap-fuzz-protocol (tests/fuzz/corpus/).

This is the encoder of the harness's input format; fuzz-protocol.c is the
decoder and the two must stay in step (the interface lists, the value table,
the request opcodes, the op numbers). Each seed is a small, mostly well-formed
program: a capture flow, a screencopy flow, lifetimes, policy, errors.

    tests/fuzz/gen-seeds.py [DIR]     (default: tests/fuzz/corpus)
    tests/fuzz/gen-seeds.py --repro DIR     minimal reproducers of found bugs
"""
import os
import struct
import sys

# fuzz-protocol.c: known[]
KNOWN = [
    "wl_display", "wl_registry", "wl_callback", "wl_shm", "wl_shm_pool", "wl_buffer",
    "wl_output", "wl_seat", "wl_pointer", "wl_keyboard",
    "ext_output_image_capture_source_manager_v1", "ext_image_capture_source_v1",
    "ext_image_copy_capture_manager_v1", "ext_image_copy_capture_session_v1",
    "ext_image_copy_capture_frame_v1", "ext_image_copy_capture_cursor_session_v1",
    "zwlr_screencopy_manager_v1", "zwlr_screencopy_frame_v1",
]
# fuzz-protocol.c: bindable[]
BINDABLE = [
    "wl_shm", "wl_seat", "wl_output", "ext_output_image_capture_source_manager_v1",
    "ext_image_copy_capture_manager_v1", "zwlr_screencopy_manager_v1",
]
# fuzz-protocol.c: values[]
XB24, AB24, RG16 = 0x34324258, 0x34324241, 0x36314752
VALUES = [
    0, 1, 2, 3, 4, 8, 16, 32,
    48, 64, 128, 256, 192, 12288, 4096, 65536,
    0xffffffff, 0xfffffffe, (-64) & 0xffffffff, 0x7fffffff, 0x80000000, 0x7fff, 0x8000, 12287,
    255, 24576, 63, 47, XB24, AB24, RG16, 1 << 24,
]
# fuzz-protocol.c: decode_fd(), sizes[] (7: a pipe)
FD_SIZES = {0: 0, 4096: 1, 12288: 2, 24576: 3, 1: 4, 12287: 5, 65536: 6, "pipe": 7}

# Requests: name -> (opcode, argument kinds; "n:iface" creates an object).
REQUESTS = {
    "wl_display": {"sync": (0, ["n:wl_callback"]), "get_registry": (1, ["n:wl_registry"])},
    "wl_shm": {"create_pool": (0, ["n:wl_shm_pool", "h", "i"])},
    "wl_shm_pool": {
        "create_buffer": (0, ["n:wl_buffer", "i", "i", "i", "i", "u"]),
        "destroy": (1, []),
        "resize": (2, ["i"]),
    },
    "wl_buffer": {"destroy": (0, [])},
    "wl_output": {"release": (0, [])},
    "wl_seat": {"get_pointer": (0, ["n:wl_pointer"]), "get_keyboard": (1, ["n:wl_keyboard"]),
        "release": (3, [])},
    "wl_pointer": {"set_cursor": (0, ["u", "o", "i", "i"]), "release": (1, [])},
    "ext_output_image_capture_source_manager_v1": {
        "create_source": (0, ["n:ext_image_capture_source_v1", "o"]),
        "destroy": (1, []),
    },
    "ext_image_capture_source_v1": {"destroy": (0, [])},
    "ext_image_copy_capture_manager_v1": {
        "create_session": (0, ["n:ext_image_copy_capture_session_v1", "o", "u"]),
        "create_pointer_cursor_session":
            (1, ["n:ext_image_copy_capture_cursor_session_v1", "o", "o"]),
        "destroy": (2, []),
    },
    "ext_image_copy_capture_session_v1": {
        "create_frame": (0, ["n:ext_image_copy_capture_frame_v1"]),
        "destroy": (1, []),
    },
    "ext_image_copy_capture_frame_v1": {
        "destroy": (0, []),
        "attach_buffer": (1, ["o"]),
        "damage_buffer": (2, ["i", "i", "i", "i"]),
        "capture": (3, []),
    },
    "ext_image_copy_capture_cursor_session_v1": {
        "destroy": (0, []),
        "get_capture_session": (1, ["n:ext_image_copy_capture_session_v1"]),
    },
    "zwlr_screencopy_manager_v1": {
        "capture_output": (0, ["n:zwlr_screencopy_frame_v1", "i", "o"]),
        "capture_output_region":
            (1, ["n:zwlr_screencopy_frame_v1", "i", "o", "i", "i", "i", "i"]),
        "destroy": (2, []),
    },
    "zwlr_screencopy_frame_v1": {
        "copy": (0, ["o"]),
        "destroy": (1, []),
        "copy_with_damage": (2, ["o"]),
    },
}
DESTRUCTORS = {"destroy", "release"}

WL_SHM_ARGB8888, WL_SHM_XRGB8888 = 0, 1


# Outputs: 0 = A (headless 64x48), 1 = B (headless 40x30, 90, scale 2),
# 2 = the late output (48x32, flipped-180; presents when told to).
OUT_A, OUT_B, OUT_LATE = 0, 1, 2


class Obj:
    def __init__(self, iface):
        self.iface = iface


class Program:
    """Builds one input; mirrors the harness's model of the current client."""

    def __init__(self):
        self.out = bytearray()
        self.live = {}  # per slot: list of live Obj in creation order
        self.slot = 0
        self.reset_client()

    # --- encoding helpers ---
    def u8(self, v):
        assert 0 <= v <= 0xff
        self.out.append(v)

    def u16(self, v):
        self.out += struct.pack("<H", v & 0xffff)

    def u32(self, v):
        self.out += struct.pack("<I", v & 0xffffffff)

    def value(self, v):
        v &= 0xffffffff
        if v in VALUES:
            self.u8(VALUES.index(v))
        else:
            self.u8(0xe0)
            self.u32(v)

    def objects(self):
        return self.live[self.slot]

    def nth(self, obj):
        same = [o for o in self.objects() if o.iface == obj.iface]
        return same.index(obj)

    def reset_client(self):
        """The current client ended (error, kick): the next op starts a new one."""
        self.live[self.slot] = [Obj("wl_display")]
        self.display = self.objects()[0]

    # --- requests ---
    def req(self, target, name, *args):
        opcode, kinds = REQUESTS[target.iface][name]
        t = KNOWN.index(target.iface) + len(KNOWN) * self.nth(target)
        self.u8(0x00)  # op: request
        if t < 0xe0:
            self.u8(t)
        else:  # past the nth an interface can name: by place among all objects
            self.u8(0xe0)
            self.u8(self.objects().index(target))
        self.u8(opcode)
        created = None
        args = list(args)
        for kind in kinds:
            if kind.startswith("n:"):
                self.u8(0)  # a fresh id
                created = Obj(kind[2:])
                self.objects().append(created)
                continue
            a = args.pop(0)
            if kind in "iu":
                self.value(a)
            elif kind == "o":
                if a is None:
                    self.u8(0xff)
                elif a == "stale":
                    self.u8(0xfd)
                elif isinstance(a, int):
                    self.u8(0xfe)
                    self.u32(a)
                else:
                    self.u8(self.nth(a))
            elif kind == "h":
                self.u8(FD_SIZES[a])
        assert not args, args
        if name in DESTRUCTORS:
            self.objects().remove(target)
        if name == "sync":
            self.objects().remove(created)  # done and delete_id come at once
        return created

    def get_registry(self):
        return self.req(self.display, "get_registry")

    def bind(self, registry, iface, nth=0, version=None):
        self.u8(0x00)
        self.u8(KNOWN.index("wl_registry") + len(KNOWN) * self.nth(registry))
        self.u8(0)  # bind
        g = BINDABLE.index(iface) + len(BINDABLE) * nth
        self.u8(g)
        self.u8(0)  # the global's own interface name
        if version is None:
            self.u8(0)  # the global's version (capped to the harness's)
        elif version == 1:
            self.u8(0xc0)
        else:
            self.u8(0xe0)
            self.u32(version)
        self.u8(0)  # a fresh id
        obj = Obj(iface)
        self.objects().append(obj)
        return obj

    # --- compositor actions ---
    def commit(self, output=0, color=0x11, damage=None, empty=False, no_buffer=False):
        mode = 3 if no_buffer else 2 if empty else 1 if damage is not None else 0
        self.u8(10 | (output | mode << 2) << 4)
        self.u8(color)
        if damage is not None:
            x, y, w, h = damage
            self.out += struct.pack("<bbBB", x, y, w, h)

    def output(self, what, output=0, param=0):
        sub = ["transform", "scale", "mode", "disable", "enable", "toggle_source",
            "toggle_manager", "commit_all"].index(what)
        self.u8(11 | sub << 4)
        self.u8(output | param << 2)

    def cursor_image(self, output, image, hx=0, hy=0):
        self.u8(12 | 0 << 4)
        self.u8(output | image << 2)
        self.out += struct.pack("<bb", hx, hy)

    def cursor_move(self, output, x, y, visible=True):
        self.u8(12 | 1 << 4)
        self.u8(output | (4 if visible else 0))
        self.out += struct.pack("<hh", int(x * 4), int(y * 4))

    def policy(self, what, param=0):
        sub = ["none", "defer", "allow", "deny", "revoke", "handler_deny", "handler_allow",
            "filter"].index(what)
        self.u8(13 | sub << 4)
        if what in ("allow", "deny", "revoke", "filter"):
            self.u8(param)

    def switch_client(self):
        self.u8(14 | 0 << 4)
        self.slot ^= 1
        if self.slot not in self.live:
            self.reset_client()

    def kick_client(self):
        self.u8(14 | 1 << 4)
        self.reset_client()

    def hang_up(self):
        self.u8(14 | 2 << 4)
        self.reset_client()

    def fault(self, fault, count=1):
        self.u8(15 | 0 << 4)
        self.u8(fault | (count - 1) << 4)

    def raw(self, target_index, opcode, words):
        self.u8(15 | 1 << 4)
        self.u8(target_index)
        self.u8(opcode)
        self.u8(len(words))
        for w in words:
            self.value(w)

    def max_fps(self, index, manager=True):
        """fps[index] of the harness: 0, 1, 10, 30, 60, 1000, 1e6, 0.001."""
        self.u8(15 | 3 << 4)
        self.u8(index | (8 if manager else 0))

    def present(self, how="oldest"):
        """The late output (2) presents: oldest, discarded, all, or bogus."""
        self.u8(15 | 4 << 4)
        self.u8(["oldest", "discarded", "all", "bogus"].index(how))

    def sleep(self):
        """1 ms passes (twice per input at most)."""
        self.u8(15 | 5 << 4)

    def truncate(self, fd_index, size_index):
        self.u8(15 | 2 << 4)
        self.u8(size_index | fd_index << 3)


# ZC_FAULT_*
FAULT_ALLOC, FAULT_CPU_COPY, FAULT_READ_BACK = 0, 1, 2


def setup(p, *ifaces):
    """Registry, then one bound object per interface name (wl_output: A)."""
    reg = p.get_registry()
    objs = {"registry": reg}
    for iface in ifaces:
        objs[iface] = p.bind(reg, iface)
    return objs


def shm_buffer(p, shm, width, height, stride=None, fmt=WL_SHM_XRGB8888, fd=12288,
        pool_size=12288, offset=0):
    pool = p.req(shm, "create_pool", fd, pool_size)
    buf = p.req(pool, "create_buffer", offset, width, height, stride or width * 4, fmt)
    return pool, buf


SRC_MGR = "ext_output_image_capture_source_manager_v1"
COPY_MGR = "ext_image_copy_capture_manager_v1"
SC_MGR = "zwlr_screencopy_manager_v1"


def output_session(p, o, options):
    """A source on o's wl_output and a capture session of it: (source, session)."""
    src = p.req(o[SRC_MGR], "create_source", o["wl_output"])
    return src, p.req(o[COPY_MGR], "create_session", src, options)


def capture(p, sess, buf, damage=None):
    """A frame of sess into buf (with buffer damage x, y, w, h if given), captured."""
    frame = p.req(sess, "create_frame")
    p.req(frame, "attach_buffer", buf)
    if damage is not None:
        p.req(frame, "damage_buffer", *damage)
    p.req(frame, "capture")
    return frame


def seed_ext_capture():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    pool, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    src, sess = output_session(p, o, 0)
    # The first frame: at once, all damaged.
    frame = capture(p, sess, buf, damage=(0, 0, 64, 48))
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.commit(0, damage=(4, 4, 8, 8))
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.commit(0, empty=True)
    p.commit(0, damage=(-8, 40, 100, 100))
    p.req(frame, "destroy")
    _, xb24 = shm_buffer(p, o["wl_shm"], 64, 48, fmt=XB24)
    frame = capture(p, sess, xb24, damage=(10, 10, 1000, 1000))
    p.commit(0, damage=(1, 1, 1, 1))
    p.req(frame, "destroy")
    p.req(sess, "destroy")
    p.req(src, "destroy")
    p.req(buf, "destroy")
    p.req(pool, "destroy")
    return p


def seed_ext_output_b():
    """Output B: 40x30 mode, transform 90, scale 2: a 30x40 upright image."""
    p = Program()
    reg = p.get_registry()
    shm = p.bind(reg, "wl_shm")
    out_b = p.bind(reg, "wl_output", nth=1)
    srcm = p.bind(reg, SRC_MGR)
    copym = p.bind(reg, COPY_MGR)
    _, buf = shm_buffer(p, shm, 30, 40, fmt=AB24)
    _, wrong = shm_buffer(p, shm, 40, 30)
    src = p.req(srcm, "create_source", out_b)
    sess = p.req(copym, "create_session", src, 1)  # paint_cursors
    frame = capture(p, sess, wrong)  # fails: buffer_constraints
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.cursor_move(1, 3, 4)
    p.commit(1, damage=(0, 0, 10, 10))
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.cursor_move(1, 12.5, 7.25)
    p.cursor_image(1, 3, -2, 5)
    p.output("transform", 1, 3)
    p.commit(1)
    return p


def seed_cursor_session():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", "wl_seat", SRC_MGR, COPY_MGR)
    pointer = p.req(o["wl_seat"], "get_pointer")
    _, buf = shm_buffer(p, o["wl_shm"], 16, 16, fmt=WL_SHM_ARGB8888)
    src = p.req(o[SRC_MGR], "create_source", o["wl_output"])
    cursor = p.req(o[COPY_MGR], "create_pointer_cursor_session", src, pointer)
    sess = p.req(cursor, "get_capture_session")
    frame = capture(p, sess, buf)
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.cursor_move(0, 30, 20)
    p.cursor_image(0, 1, 8, 8)
    p.cursor_move(0, -100, 20)
    p.cursor_image(0, 2, 0, 0)  # a new size: the waiting frame fails
    p.cursor_image(0, 0)
    p.req(frame, "destroy")
    p.output("toggle_source", 0)  # the cursor session's output goes away
    p.req(sess, "create_frame")
    p.req(cursor, "destroy")
    p.req(pointer, "release")
    return p


def seed_screencopy():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SC_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    frame = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(frame, "copy", buf)
    p.req(frame, "destroy")
    frame = p.req(o[SC_MGR], "capture_output", 1, o["wl_output"])
    p.req(frame, "copy_with_damage", buf)
    p.commit(0, damage=(1, 2, 3, 4))
    p.req(frame, "destroy")
    frame = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(frame, "copy_with_damage", buf)
    frame2 = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(frame2, "copy_with_damage", buf)  # a second frame in flight
    p.commit(0)
    p.req(frame, "destroy")
    p.req(frame2, "destroy")
    _, small = shm_buffer(p, o["wl_shm"], 16, 16)
    region = p.req(o[SC_MGR], "capture_output_region", 1, o["wl_output"], 8, 8, 16, 16)
    p.req(region, "copy_with_damage", small)
    p.commit(0, damage=(10, 10, 2, 2))
    p.req(region, "destroy")
    region = p.req(o[SC_MGR], "capture_output_region", 0, o["wl_output"], 60, 40, 100, 100)
    p.req(region, "destroy")
    return p


def seed_screencopy_output_b():
    p = Program()
    reg = p.get_registry()
    shm = p.bind(reg, "wl_shm")
    out_b = p.bind(reg, "wl_output", nth=1)
    sc = p.bind(reg, SC_MGR)
    _, buf = shm_buffer(p, shm, 40, 30)
    frame = p.req(sc, "capture_output", 1, out_b)
    p.req(frame, "copy", buf)
    region = p.req(sc, "capture_output_region", 0, out_b, 1, 2, 5, 7)
    _, small = shm_buffer(p, shm, 14, 10)
    p.req(region, "copy_with_damage", small)
    p.output("scale", 1, 2)
    p.commit(1)
    return p


def seed_errors():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    _, sess = output_session(p, o, 0)
    frame = p.req(sess, "create_frame")
    p.req(frame, "damage_buffer", -1, 0, 10, 10)  # invalid_buffer_damage
    p.reset_client()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    _, sess = output_session(p, o, 0)
    frame = p.req(sess, "create_frame")
    p.req(frame, "capture")  # no_buffer
    p.reset_client()
    o = setup(p, "wl_output", SRC_MGR, COPY_MGR)
    _, sess = output_session(p, o, 0)
    p.req(sess, "create_frame")
    p.req(sess, "create_frame")  # duplicate_frame
    p.reset_client()
    o = setup(p, "wl_output", SRC_MGR, COPY_MGR)
    src = p.req(o[SRC_MGR], "create_source", o["wl_output"])
    p.req(o[COPY_MGR], "create_session", src, 6)  # invalid_option
    p.reset_client()
    o = setup(p, "wl_shm", "wl_output", SC_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48, stride=260, fd=24576, pool_size=24576)
    frame = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(frame, "copy", buf)  # invalid_buffer
    p.reset_client()
    o = setup(p, "wl_shm", "wl_output", SC_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    frame = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(frame, "copy", buf)
    p.req(frame, "copy", buf)  # already_used
    p.reset_client()
    o = setup(p, "wl_shm", "wl_output", "wl_seat", SRC_MGR, COPY_MGR)
    pointer = p.req(o["wl_seat"], "get_pointer")
    src = p.req(o[SRC_MGR], "create_source", o["wl_output"])
    cursor = p.req(o[COPY_MGR], "create_pointer_cursor_session", src, pointer)
    p.req(cursor, "get_capture_session")
    p.req(cursor, "get_capture_session")  # duplicate_session
    return p


def seed_after_capture():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    _, sess = output_session(p, o, 0)
    frame = capture(p, sess, buf)
    p.req(frame, "attach_buffer", buf)  # already_captured
    return p


def seed_lifetimes():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR, SC_MGR)
    pool, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    src, sess = output_session(p, o, 0)
    frame = capture(p, sess, buf)  # the first frame: ready at once
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)  # waits for damage
    sc_frame = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(sc_frame, "copy_with_damage", buf)  # waits too
    p.req(buf, "destroy")  # both lose their buffer
    p.commit(0)
    p.req(frame, "destroy")
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    frame = capture(p, sess, buf)
    p.output("toggle_source", 0)  # the source goes: stopped
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    src2 = p.req(o[SRC_MGR], "create_source", o["wl_output"])  # inert
    p.req(o[COPY_MGR], "create_session", src2, 1)
    p.output("toggle_source", 0)  # back
    sc_frame = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(sess, "destroy")
    p.output("toggle_manager")  # the manager goes with everything bound
    p.req(sc_frame, "copy", buf)
    p.req(o[SC_MGR], "capture_output", 1, o["wl_output"])
    p.req(o[SRC_MGR], "create_source", o["wl_output"])
    p.req(o[COPY_MGR], "create_session", src, 0)
    p.output("toggle_manager")
    p.req(src, "destroy")
    p.req(pool, "destroy")
    return p


def seed_policy():
    p = Program()
    p.policy("defer")
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR, SC_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    src, sess = output_session(p, o, 1)
    frame = capture(p, sess, buf)
    p.policy("allow", 0)
    sess2 = p.req(o[COPY_MGR], "create_session", src, 0)
    frame2 = capture(p, sess2, buf)
    p.policy("deny", 0)
    sc_frame = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(sc_frame, "copy", buf)
    p.policy("revoke", 1 | 3 << 1)  # this client, every output
    p.policy("handler_deny")
    p.req(o[COPY_MGR], "create_session", src, 0)
    p.policy("handler_allow")
    p.req(o[COPY_MGR], "create_session", src, 0)
    p.policy("defer")
    p.req(o[COPY_MGR], "create_session", src, 0)  # left pending: the client ends
    p.policy("filter", 2)
    p.get_registry()
    return p


def seed_geometry():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    _, sess = output_session(p, o, 0)
    frame = capture(p, sess, buf)
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.output("mode", 0, 1)  # 48x64: the waiting frame no longer fits
    p.req(frame, "destroy")
    _, tall = shm_buffer(p, o["wl_shm"], 48, 64)
    frame = capture(p, sess, tall)
    p.output("transform", 0, 1)
    p.output("scale", 0, 1)
    p.output("disable", 0)
    p.req(frame, "destroy")
    frame = capture(p, sess, tall)
    p.output("enable", 0)
    p.commit(0)
    return p


def seed_shm_abuse():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    # The pool claims more than the memfd holds: writes past its end fault.
    pool, buf = shm_buffer(p, o["wl_shm"], 64, 48, fd=4096, pool_size=12288)
    _, sess = output_session(p, o, 0)
    frame = capture(p, sess, buf)
    p.reset_client()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    pool, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    p.truncate(0, 0)  # the client shrinks the memory it shared
    _, sess = output_session(p, o, 0)
    frame = capture(p, sess, buf)
    p.reset_client()
    o = setup(p, "wl_shm")
    pool = p.req(o["wl_shm"], "create_pool", "pipe", 4096)  # not mappable
    return p


def seed_faults():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR, SC_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    _, sess = output_session(p, o, 0)
    p.fault(FAULT_ALLOC)
    frame = capture(p, sess, buf)
    p.req(frame, "destroy")
    p.fault(FAULT_CPU_COPY, 2)
    frame = capture(p, sess, buf)
    sc_frame = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(sc_frame, "copy", buf)
    p.fault(FAULT_READ_BACK)
    p.commit(0)
    return p


def seed_two_clients():
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    _, sess = output_session(p, o, 0)
    frame = capture(p, sess, buf)
    p.switch_client()
    o2 = setup(p, "wl_shm", "wl_output", SC_MGR)
    _, buf2 = shm_buffer(p, o2["wl_shm"], 64, 48)
    sc_frame = p.req(o2[SC_MGR], "capture_output", 1, o2["wl_output"])
    p.req(sc_frame, "copy_with_damage", buf2)
    p.policy("revoke", 1)  # this client, output A
    p.switch_client()
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.kick_client()
    p.switch_client()
    p.hang_up()
    p.commit(0)
    return p


def seed_session_limit():
    """More sessions than a client may have: the extra ones start stopped."""
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    src = p.req(o[SRC_MGR], "create_source", o["wl_output"])
    sessions = [p.req(o[COPY_MGR], "create_session", src, i % 2) for i in range(66)]
    frame = capture(p, sessions[-1], buf)
    p.req(sessions[0], "destroy")
    p.req(o[COPY_MGR], "create_session", src, 0)
    return p


def seed_pacing():
    p = Program()
    p.max_fps(1)  # 1 fps for sessions from now on
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR, SC_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    src, sess = output_session(p, o, 0)
    frame = capture(p, sess, buf)
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.commit(0)  # too early: the frame waits for its slot
    sc = p.req(o[SC_MGR], "capture_output", 0, o["wl_output"])
    p.req(sc, "copy_with_damage", buf)
    p.policy("defer")
    sess2 = p.req(o[COPY_MGR], "create_session", src, 1)
    p.max_fps(5, manager=False)  # 1000 fps for the waiting request
    p.policy("allow", 0)
    frame2 = capture(p, sess2, buf)
    p.commit(0, damage=(0, 0, 4, 4))
    p.req(frame2, "destroy")
    frame2 = capture(p, sess2, buf)
    p.commit(0, damage=(8, 8, 4, 4))  # within 1 ms: waits for the pacing timer
    p.sleep()
    p.sleep()
    p.max_fps(0)
    p.req(sess, "destroy")  # with its pacing timer armed
    return p


def seed_late_present():
    """The late output: copies wait for their image's presentation."""
    p = Program()
    reg = p.get_registry()
    shm = p.bind(reg, "wl_shm")
    out = p.bind(reg, "wl_output", nth=OUT_LATE)
    srcm = p.bind(reg, SRC_MGR)
    copym = p.bind(reg, COPY_MGR)
    sc = p.bind(reg, SC_MGR)
    _, buf = shm_buffer(p, shm, 48, 32)
    src = p.req(srcm, "create_source", out)
    sess = p.req(copym, "create_session", src, 1)
    frame = capture(p, sess, buf)  # copied at once, ready once presented
    p.present("oldest")
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    p.commit(OUT_LATE, damage=(2, 2, 6, 6))
    p.commit(OUT_LATE, damage=(20, 2, 6, 6))  # replaced before presented
    p.present("discarded")
    p.present("bogus")
    p.req(frame, "destroy")
    frame = capture(p, sess, buf)
    sc_frame = p.req(sc, "capture_output", 1, out)
    p.req(sc_frame, "copy_with_damage", buf)
    p.commit(OUT_LATE)
    p.req(frame, "destroy")  # destroyed while its copy waits for the time
    p.req(buf, "destroy")
    p.present("all")
    frame = p.req(sess, "create_frame")
    _, buf = shm_buffer(p, shm, 48, 32)
    p.req(frame, "attach_buffer", buf)
    p.req(frame, "capture")
    p.commit(OUT_LATE)
    p.output("toggle_source", OUT_LATE)  # gone with a copy waiting
    p.present("all")
    return p


def seed_raw():
    p = Program()
    setup(p, "wl_output", SRC_MGR, COPY_MGR)
    p.raw(3, 0, [7, 0xffffffff])  # a request with the wrong arguments
    return p


def crash_manager_destroy_stats():
    """A session outlives zc_capture_manager_destroy(); its frame fails later
    and counts into the freed manager's stats (heap-use-after-free)."""
    p = Program()
    o = setup(p, "wl_shm", "wl_output", SRC_MGR, COPY_MGR)
    _, buf = shm_buffer(p, o["wl_shm"], 64, 48)
    _, sess = output_session(p, o, 0)
    frame = p.req(sess, "create_frame")
    p.output("toggle_manager")
    p.req(frame, "attach_buffer", buf)
    p.req(frame, "capture")
    return p


def crash_region_overflow():
    """capture_output_region at INT32_MAX: signed overflow in buffer_region()."""
    p = Program()
    o = setup(p, "wl_output", SC_MGR)
    p.req(o[SC_MGR], "capture_output_region", 0, o["wl_output"], 0x7fffffff, 0x7fffffff,
        0x7fffffff, 1)
    return p


# Minimal reproducers of bugs the fuzzer found, as readable programs; written
# with --repro DIR only. Both are fixed (0133c80, 70a8c47); the corpus holds
# the fuzzer's own inputs for them (corpus/regression-*). A bug not fixed
# yet goes here first, and its input into the corpus once the fix is in.
REPRODUCERS = {
    "crash-manager-destroy-stats": crash_manager_destroy_stats,
    "crash-region-overflow": crash_region_overflow,
}

SEEDS = {
    "ext-capture": seed_ext_capture,
    "ext-output-b": seed_ext_output_b,
    "cursor-session": seed_cursor_session,
    "screencopy": seed_screencopy,
    "screencopy-output-b": seed_screencopy_output_b,
    "errors": seed_errors,
    "after-capture": seed_after_capture,
    "lifetimes": seed_lifetimes,
    "policy": seed_policy,
    "geometry": seed_geometry,
    "shm-abuse": seed_shm_abuse,
    "faults": seed_faults,
    "two-clients": seed_two_clients,
    "session-limit": seed_session_limit,
    "pacing": seed_pacing,
    "late-present": seed_late_present,
    "raw": seed_raw,
}


def main():
    args = sys.argv[1:]
    seeds = SEEDS
    if args[:1] == ["--repro"]:
        seeds = REPRODUCERS
        args = args[1:]
    out = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, make in seeds.items():
        data = bytes(make().out)
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
        print(f"{name}.bin: {len(data)} bytes")


if __name__ == "__main__":
    main()
