#!/usr/bin/env python3
"""Prints binding.gyp's target as JSON (sources, cflags, defines) with its
conditions resolved the way gyp resolves them, for builds that do not go
through node-gyp (scripts/prebuild.js cross-compiles with zig). binding.gyp
stays the one list of sources.

usage: gyp-target.py [binding.gyp] [-DNAME=VALUE ...]   (OS defaults to linux)
"""
import ast
import json
import sys


def resolve(section, variables):
    """The section without its conditions, each true branch merged in."""
    out = {k: v for k, v in section.items() if k != 'conditions'}
    for condition in section.get('conditions', []):
        expression, then = condition[0], condition[1]
        otherwise = condition[2] if len(condition) > 2 else None
        # gyp evaluates conditions as Python expressions over its variables.
        branch = then if eval(expression, {'__builtins__': {}}, variables) else otherwise
        if branch:
            for key, value in resolve(branch, variables).items():
                if isinstance(value, list):
                    out[key] = out.get(key, []) + value
                else:
                    out[key] = value
    return out


def main(argv):
    path = 'binding.gyp'
    overrides = {}
    for arg in argv:
        if arg.startswith('-D'):
            name, _, value = arg[2:].partition('=')
            overrides[name] = value
        else:
            path = arg
    with open(path) as f:
        gyp = ast.literal_eval(f.read())
    # "name%" is a default that a -D on the command line replaces.
    variables = {k.rstrip('%'): v for k, v in gyp.get('variables', {}).items()}
    variables.setdefault('OS', 'linux')
    variables.update(overrides)
    targets = gyp['targets']
    if len(targets) != 1:
        sys.exit('gyp-target.py: expected one target in %s, found %d' % (path, len(targets)))
    target = resolve(targets[0], variables)
    json.dump({k: target.get(k, []) for k in ('target_name', 'sources', 'cflags', 'defines')}, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main(sys.argv[1:])
