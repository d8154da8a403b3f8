# The two checks pyflakes is best known for, undefined names and unused imports, done with the
# standard library's symtable: the project's Python is one short script, not worth a linter package in
# the toolchain. Usage: python3 python_names.py FILE; prints one problem a line, exits 1 if any.
import builtins
import symtable
import sys


def free_names(table, problems, outer):
    """Names `table` and its nested scopes read without defining them; records undefined ones."""
    defined = set(outer)
    for sym in table.get_symbols():
        if sym.is_assigned() or sym.is_imported() or sym.is_parameter() or sym.is_namespace():
            defined.add(sym.get_name())
    free = set()
    # A class body's names are not visible inside its methods.
    inner = outer if table.get_type() == "class" else defined
    for child in table.get_children():
        free |= free_names(child, problems, inner)
    for sym in table.get_symbols():
        name = sym.get_name()
        if sym.is_referenced():
            free.add(name)
            if name not in defined and not hasattr(builtins, name):
                problems.append(f"undefined name {name!r} in {table.get_name()}")
    local = {s.get_name() for s in table.get_symbols() if s.is_local()} if table.get_type() != "module" else set()
    return free - local


def main(path):
    with open(path, encoding="utf-8") as f:
        table = symtable.symtable(f.read(), path, "exec")
    problems = []
    used = free_names(table, problems, set())
    for sym in table.get_symbols():
        if sym.is_imported() and sym.get_name() not in used:
            problems.append(f"{sym.get_name()!r} imported but unused")
    for problem in sorted(set(problems)):
        print(f"{path}: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
