#!/usr/bin/env python3
"""Turns shader files into a C header of string constants: blit.frag -> zc_shader_blit_frag."""
import os
import sys


def c_name(path):
    base = os.path.basename(path).replace('.', '_').replace('-', '_')
    return 'zc_shader_' + base


def main():
    out, sources = sys.argv[1], sys.argv[2:]
    lines = ['/* Generated from shaders/: do not edit. */', '#pragma once', '']
    for path in sources:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        lines.append('static const char %s[] =' % c_name(path))
        for line in text.splitlines():
            escaped = line.replace('\\', '\\\\').replace('"', '\\"')
            lines.append('\t"%s\\n"' % escaped)
        lines.append(';')
        lines.append('')
    with open(out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))


if __name__ == '__main__':
    main()
