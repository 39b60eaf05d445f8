#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Static stack usage of a module's own code, from the built object (x86_64).

    scripts/stack_usage.py MODULE.ko --entry REGEX [--entry REGEX ...] [--limit BYTES] [--verbose]
    scripts/stack_usage.py MODULE.ko --list [--verbose]

The object is disassembled with `objdump -dr -M intel`. For every function defined in it the
frame is 8 bytes (the return address) plus the deepest the stack pointer goes below its value at
entry, found by following the function's control flow: pushes, `sub/add rsp, N`, `lea rsp,
[...]`, `enter`, `leave`, `mov rbp, rsp` ... `mov rsp, rbp`, `and rsp, -N` (counted as N - 8),
pushes of stack arguments around calls, a shrink-wrapped prologue after an early-return branch,
and stack probes (unrolled `sub rsp, 0x1000` + store, the `mov r11, rsp; sub r11, N` /
`lea r11, [rsp-N]` loop that ends on `cmp rsp, r11`, and `mov eax, N; call __rust_probestack;
sub rsp, rax`). Code reached only through a jump label (__jump_table) is followed from the
label's site, code after a `ud2` (the kernel's WARN carries on) from the `ud2`'s depth, other
unreached code (jump-table targets, entries into split-off parts) from the depth of the
function's indirect jumps or 0. A change of the stack pointer it cannot bound (`sub rsp, rax`
with an unknown rax, a probe loop against an unknown bound, `mov rsp, <unknown>`, ...) makes
the frame "unbounded": it is shown as `>= N` with the reason, never guessed. Identical functions
folded into one body have several names: an entry is named by the one its regex matched.

Direct calls and tail jumps (also conditional ones, and calls through a GOT slot) to functions
defined in the object are followed, whether they carry a relocation (`R_X86_64_PLT32 sym-0x4`,
`R_X86_64_PC32 .text.sect-0x4`) or were resolved by the assembler within one section. Calls to
undefined symbols (the kernel's C functions and the `kernel` crate's Rust functions living in
vmlinux) are leaves and not counted. Indirect calls and jumps (through a register, through
memory, `__x86_indirect_thunk_*`) are not followed; they are counted per function (--verbose),
as are returns through `__x86_return_thunk`.

For each function matching an --entry regex (searched in the raw symbol and the demangled name,
with and without hashes) one line: the deepest chain of module frames from it,

    ENTRY: N bytes (f1 96 > f2 320 > f3 64)

where `>` is a call (the caller's whole frame stays on the stack) and `a 0/16 >> b` is a tail
jump (a's 16-byte frame is released before the jump; the first number is what it still holds at
the jump, normally 0 - that is what is counted). The numbers add up to N. Then a final line.

Exit status: 0 all entries within --limit (default 1024); 1 some entry over the limit; 2 an
analysis error (an --entry matching nothing, recursion, an unbounded frame on an entry's path,
objdump failing).
"""

import argparse
import bisect
import re
import shutil
import subprocess
import sys
from collections import defaultdict

DEFAULT_LIMIT = 1024
MAX_STATES_PER_INSN = 8
CONFLICT = ("conflict",)

# --- registers -------------------------------------------------------------------------------

_REG64 = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"] + ["r%d" % i for i in range(8, 16)]
REG_FULL = {}  # name -> (64-bit register, True if a write zero-extends / replaces it entirely)
for _r in _REG64:
    REG_FULL[_r] = (_r, True)
for _r64, _r32, _r16, _r8 in [
    ("rax", "eax", "ax", "al"), ("rbx", "ebx", "bx", "bl"), ("rcx", "ecx", "cx", "cl"),
    ("rdx", "edx", "dx", "dl"), ("rsi", "esi", "si", "sil"), ("rdi", "edi", "di", "dil"),
    ("rbp", "ebp", "bp", "bpl"), ("rsp", "esp", "sp", "spl"),
]:
    REG_FULL[_r32] = (_r64, True)
    REG_FULL[_r16] = (_r64, False)
    REG_FULL[_r8] = (_r64, False)
for _h, _r64 in [("ah", "rax"), ("bh", "rbx"), ("ch", "rcx"), ("dh", "rdx")]:
    REG_FULL[_h] = (_r64, False)
for _i in range(8, 16):
    REG_FULL["r%dd" % _i] = ("r%d" % _i, True)
    REG_FULL["r%dw" % _i] = ("r%d" % _i, False)
    REG_FULL["r%db" % _i] = ("r%d" % _i, False)
    REG_FULL["r%dl" % _i] = ("r%d" % _i, False)

CALLER_SAVED = ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"]
# Instructions that write registers they do not name as their first operand.
IMPLICIT_WRITES = {
    "cpuid": ["rax", "rbx", "rcx", "rdx"], "rdtsc": ["rax", "rdx"], "rdtscp": ["rax", "rcx", "rdx"],
    "rdmsr": ["rax", "rdx"], "rdpid": [], "mul": ["rax", "rdx"], "imul": ["rax", "rdx"],
    "div": ["rax", "rdx"], "idiv": ["rax", "rdx"], "cdq": ["rdx"], "cqo": ["rdx"], "cdqe": ["rax"],
    "cwde": ["rax"], "cbw": ["rax"], "cwd": ["rdx"], "xgetbv": ["rax", "rdx"], "lahf": ["rax"],
    "syscall": ["rax", "rcx", "r11"], "cmpxchg": ["rax"], "cmpxchg8b": ["rax", "rdx"],
    "cmpxchg16b": ["rax", "rdx"], "xadd": [], "xchg": [], "lods": ["rax", "rsi"],
    "stos": ["rdi", "rcx"], "movs": ["rsi", "rdi", "rcx"], "scas": ["rdi", "rcx"],
    "cmps": ["rsi", "rdi", "rcx"], "ins": ["rdi", "rcx"], "outs": ["rsi", "rcx"],
}

PREFIXES = {"bnd", "notrack", "lock", "rep", "repz", "repnz", "repe", "repne", "data16", "data32",
            "addr32", "cs", "ds", "ss", "es", "fs", "gs", "rex", "rex.w", "rex.b", "rex.x", "rex.r",
            "{disp32}", "{disp8}"}

# Undefined symbols with a meaning for control flow.
RE_INDIRECT_THUNK = re.compile(r"^__x86_indirect_(call_|jump_|its_)?thunk_|^__x86_indirect_thunk_array|"
                               r"^__x86_indirect_its_thunk_array|^__llvm_retpoline_")
RE_RETURN_THUNK = re.compile(r"^__x86_return_thunk$|^srso_return_thunk$|^srso_alias_return_thunk$|"
                             r"^retbleed_return_thunk$|^its_return_thunk$")
PROBESTACK = {"__rust_probestack", "__chkstk", "___chkstk_ms", "__chkstk_ms"}
GOT_RELOCS = {"R_X86_64_GOTPCREL", "R_X86_64_GOTPCRELX", "R_X86_64_REX_GOTPCRELX"}
# Instructions whose first operand is only read.
NO_WRITE = {"test", "cmp", "bt", "ptest", "ucomiss", "ucomisd", "comiss", "comisd", "push",
            "clflush", "prefetcht0", "prefetchw", "prefetchnta", "verr", "verw", "wrmsr", "out"}

RE_HEX = r"0x[0-9a-f]+"


def hexint(s):
    return int(s, 16)


def signed64(v):
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def parse_imm(s):
    s = s.strip()
    m = re.fullmatch(r"(-?)(0x[0-9a-f]+|[0-9]+)", s)
    if not m:
        return None
    v = int(m.group(2), 0)
    if m.group(1):
        v = -v
    return signed64(v)


def split_operands(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_mem(op):
    """`[rsp+0x10]` / `QWORD PTR [rbp-0x8]` -> (base register, displacement) for a simple
    base+disp operand, else None."""
    m = re.search(r"\[([a-z0-9]+)(?:([+-])(0x[0-9a-f]+|[0-9]+))?\]$", op)
    if not m or m.group(1) not in REG_FULL:
        return None
    disp = int(m.group(3), 0) if m.group(3) else 0
    if m.group(2) == "-":
        disp = -disp
    return REG_FULL[m.group(1)][0], disp


# --- object parsing --------------------------------------------------------------------------

class Sym:
    __slots__ = ("name", "section", "value", "size", "type")

    def __init__(self, name, section, value, size, typ):
        self.name, self.section, self.value, self.size, self.type = name, section, value, size, typ

    @property
    def defined(self):
        return self.section not in ("*UND*", "*COM*")


class Insn:
    __slots__ = ("addr", "next", "mnem", "ops", "text", "relocs")

    def __init__(self, addr, mnem, ops, text):
        self.addr, self.mnem, self.ops, self.text = addr, mnem, ops, text
        self.next = None
        self.relocs = []  # (offset, type, symbol, addend)


class Func:
    def __init__(self, name, section, start):
        self.name = name              # raw symbol objdump labelled it with
        self.aliases = [name]         # every symbol at the same address
        self.section = section
        self.start = start
        self.end = None
        self.insns = []
        self.pseudo = False           # a section without symbols, labelled by its own name
        # filled by analyse()
        self.frame = 8
        self.max_at = None
        self.unbounded = []           # reasons
        self.notes = []
        self.calls = {}               # Func -> depth at the call (max)
        self.tails = {}               # Func -> depth at the tail jump (max)
        self.kernel_calls = defaultdict(int)
        self.indirect_calls = 0
        self.indirect_jumps = 0
        self.return_thunks = 0
        self.interior = []            # notes about calls into the middle of functions


def run(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        raise SystemExit("stack_usage: %s not found" % cmd[0])
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("stack_usage: %s failed (exit %d)" % (" ".join(cmd), p.returncode))
    return p.stdout


RE_SYMTAB = re.compile(r"^([0-9a-f]+) (.{7}) (\S+)\t([0-9a-f]+) (.*)$")


def parse_symtab(objdump, path):
    syms = []
    for line in run([objdump, "-t", "-w", path]).splitlines():
        m = RE_SYMTAB.match(line)
        if not m:
            continue
        value, flags, section, size, name = m.groups()
        for vis in (".hidden ", ".protected ", ".internal "):
            if name.startswith(vis):
                name = name[len(vis):]
        # F function, O object, S section, f file, N no type
        typ = "F" if flags[6] == "F" else "O" if flags[6] == "O" else \
            "S" if flags[5] == "d" else "f" if flags[5] == "f" else "N"
        syms.append(Sym(name, section, hexint(value), hexint(size), typ))
    return syms


def parse_sections(objdump, path):
    names = set()
    for line in run([objdump, "-h", "-w", path]).splitlines():
        m = re.match(r"^\s*\d+ (\S+)\s", line)
        if m:
            names.add(m.group(1))
    return names


RE_OBJDUMP_R = re.compile(r"^([0-9a-f]+) (R_\S+)\s+(\S+?)(?:([+-])0x([0-9a-f]+))?$")


def parse_jump_table(objdump, path):
    """Static branches (jump labels): the kernel patches the nop (or jmp) at `code` into a jump
    to `target`. x86_64 entries are {s32 code, s32 target, long key}, each field relative to
    itself, so the relocation (PC32 against sym+A) gives the address S + A.
    Returns {(section, code address): (section, target address)}."""
    fields = {}
    in_table = False
    for line in run([objdump, "-r", "-j", "__jump_table", path]).splitlines():
        if line.startswith("RELOCATION RECORDS FOR"):
            in_table = "[__jump_table]" in line
            continue
        m = RE_OBJDUMP_R.match(line.strip())
        if not (in_table and m) or m.group(2) != "R_X86_64_PC32":
            continue
        off, sym = hexint(m.group(1)), m.group(3)
        addend = int(m.group(5), 16) * (-1 if m.group(4) == "-" else 1) if m.group(5) else 0
        fields[off] = (sym, addend)
    out = {}
    for off, (sym, addend) in fields.items():
        if off % 16 == 0 and off + 4 in fields:
            tsym, tadd = fields[off + 4]
            out[(sym, addend)] = (tsym, tadd)
    return out


RE_SECTION = re.compile(r"^Disassembly of section (\S+):$")
RE_LABEL = re.compile(r"^([0-9a-f]+) <(.+)>:$")
RE_INSN = re.compile(r"^\s*([0-9a-f]+):\t(.*)$")
RE_RELOC = re.compile(r"^\s*([0-9a-f]+): (R_\S+)\t(.*)$")
RE_RELOC_TARGET = re.compile(r"^(.*?)([+-]0x[0-9a-f]+)?$")


def parse_disassembly(objdump, path, syms):
    """Functions (with their instructions) of every code section."""
    text = run([objdump, "-dr", "--no-show-raw-insn", "-M", "intel", path])
    by_loc = defaultdict(list)  # (section, value) -> [Sym]
    for s in syms:
        if s.defined and s.type != "f":
            by_loc[(s.section, s.value)].append(s)
    # Extents of function symbols: a non-function label inside one does not start a function.
    fextents = defaultdict(list)
    for s in syms:
        if s.defined and s.type == "F" and s.size:
            fextents[s.section].append((s.value, s.value + s.size))

    funcs, section, cur, last = [], None, None, None

    def close(end):
        if cur is not None and cur.end is None:
            cur.end = end

    for line in text.splitlines():
        m = RE_SECTION.match(line)
        if m:
            close(last.next if last else None)
            section, cur, last = m.group(1), None, None
            continue
        m = RE_LABEL.match(line)
        if m and section is not None:
            addr, name = hexint(m.group(1)), m.group(2)
            here = by_loc.get((section, addr), [])
            sym = next((s for s in here if s.name == name), None)
            is_func = (sym is not None and sym.type == "F") or not any(
                a <= addr < b for a, b in fextents[section])
            if cur is not None and not is_func:
                continue  # a local label inside the current function
            close(addr)
            cur = Func(name, section, addr)
            cur.pseudo = name == section
            cur.aliases = [name] + [s.name for s in here if s.name != name and s.type in "FN"]
            funcs.append(cur)
            continue
        m = RE_RELOC.match(line)
        if m and last is not None:
            off, typ, target = hexint(m.group(1)), m.group(2), m.group(3).strip()
            t = RE_RELOC_TARGET.match(target)
            sym, addend = t.group(1), int(t.group(2), 16) if t.group(2) else 0
            last.relocs.append((off, typ, sym, addend))
            continue
        m = RE_INSN.match(line)
        if m and cur is not None:
            addr, body = hexint(m.group(1)), m.group(2)
            body = body.split("#", 1)[0].strip() if "#" in body else body.strip()
            words = body.split()
            while words and words[0] in PREFIXES and len(words) > 1:
                words = words[1:]
            if not words:
                continue
            mnem = words[0]
            ops = " ".join(words[1:])
            insn = Insn(addr, mnem, ops, body)
            if last is not None and last.next is None:
                last.next = addr
            if cur.insns and cur.insns[-1].next is None:
                cur.insns[-1].next = addr
            cur.insns.append(insn)
            last = insn
            continue
    close(None)
    for f in funcs:
        if f.insns and f.insns[-1].next is None:
            f.insns[-1].next = f.insns[-1].addr + 1  # only used for reloc bounds
        if f.end is None:
            f.end = f.insns[-1].next if f.insns else f.start
    return [f for f in funcs if f.insns]


# --- the module ------------------------------------------------------------------------------

class Module:
    def __init__(self, path, objdump="objdump"):
        self.syms = parse_symtab(objdump, path)
        self.sections = parse_sections(objdump, path)
        self.funcs = parse_disassembly(objdump, path, self.syms)
        self.by_section = defaultdict(list)
        for f in self.funcs:
            self.by_section[f.section].append(f)
        for lst in self.by_section.values():
            lst.sort(key=lambda f: f.start)
        self.starts = {sec: [f.start for f in lst] for sec, lst in self.by_section.items()}
        self.sym_by_name = defaultdict(list)
        for s in self.syms:
            self.sym_by_name[s.name].append(s)
        self.demangled = demangle({n for f in self.funcs for n in f.aliases} |
                                  {s.name for s in self.syms if not s.defined})
        self.jump_labels = {}  # (section, nop address) -> (section, target address)
        if "__jump_table" in self.sections:
            for (sym, a), (tsym, ta) in parse_jump_table(objdump, path).items():
                r, t = self.resolve_symbol(sym, None), self.resolve_symbol(tsym, None)
                if r and t and r[0] == t[0] == "def":
                    self.jump_labels[(r[1], r[2] + a)] = (t[1], t[2] + ta)
        for f in self.funcs:
            analyse(self, f)

    def func_at(self, section, addr):
        """The function of `section` whose code holds `addr`, or None."""
        lst = self.by_section.get(section)
        if not lst:
            return None
        k = bisect.bisect_right(self.starts[section], addr) - 1
        if k >= 0 and addr < lst[k].end:
            return lst[k]
        return None

    def short(self, raw):
        return self.demangled.get(raw, (raw, raw))[1]

    def display(self, f):
        return self.short(f.name)

    def resolve_symbol(self, name, section_hint):
        """A relocation's symbol -> ('def', section, value) | ('und', name) | None."""
        cands = self.sym_by_name.get(name, [])
        if any(s.type == "S" for s in cands):
            return ("def", name, 0)  # a section symbol: the addend is the offset in it
        defined = [s for s in cands if s.defined]
        if defined:
            pick = next((s for s in defined if s.section == section_hint), defined[0])
            return ("def", pick.section, pick.value)
        if cands:
            return ("und", name)
        return None

    def matches(self, f, regex):
        """The first of f's names (raw, demangled, short) `regex` finds, as the raw alias."""
        for n in f.aliases:
            full, short = self.demangled.get(n, (n, n))
            if regex.search(n) or regex.search(full) or regex.search(short):
                return n
        return None


def demangle(names):
    """raw -> (full demangled, short: without crate disambiguators and legacy hashes)."""
    names = sorted(names)
    out = {n: (n, n) for n in names}
    tool = None
    if shutil.which("rustfilt"):
        tool = ["rustfilt"]
    elif shutil.which("c++filt"):
        tool = ["c++filt"]
    if tool and names:
        try:
            p = subprocess.run(tool, input="\n".join(names) + "\n", capture_output=True, text=True)
            lines = p.stdout.splitlines()
            if p.returncode == 0 and len(lines) == len(names):
                for raw, dem in zip(names, lines):
                    short = re.sub(r"\[[0-9a-f]+\]", "", dem)
                    short = re.sub(r"::h[0-9a-f]{16}$", "", short)
                    out[raw] = (dem, short)
        except OSError:
            pass
    return out


# --- per-function analysis -------------------------------------------------------------------

def classify_branch(mod, f, insn):
    """For call/jmp/jcc: ('local', addr) | ('func', Func, offset) | ('kernel', name) |
    ('indirect',) | ('return_thunk',) | ('unknown', text)."""
    ops = insn.ops
    reloc = None
    for off, typ, sym, addend in insn.relocs:
        reloc = (off, typ, sym, addend)
    if "[" in ops:
        # Through memory: a GOT slot holding a function is a direct call, anything else is not.
        if reloc and reloc[1] in GOT_RELOCS:
            r = mod.resolve_symbol(reloc[2], f.section)
            if r and r[0] == "und":
                return classify_undefined(reloc[2])
            if r and r[0] == "def":
                g = mod.func_at(r[1], r[2])
                if g is not None:
                    return ("func", g, r[2] - g.start)
        return ("indirect",)
    if ops in REG_FULL:
        return ("indirect",)  # call rax
    m = re.match(r"^([0-9a-f]+)(?: <.*>)?$", ops)
    if not m:
        return ("unknown", insn.text)
    if reloc is None:
        target_sec, target = f.section, hexint(m.group(1))
    else:
        off, typ, sym, addend = reloc
        r = mod.resolve_symbol(sym, f.section)
        if r is None:
            return ("unknown", insn.text)
        if r[0] == "und":
            return classify_undefined(sym)
        # A rel32 field: target = S + A + (end of the instruction - field). objdump shows the
        # end of the instruction as the target (the field itself holds 0 under RELA).
        target_sec, target = r[1], r[2] + addend + (hexint(m.group(1)) - off)
    if target_sec == f.section and f.start <= target < f.end:
        if target == f.start and insn.mnem == "call":
            return ("func", f, 0)
        return ("local", target)
    g = mod.func_at(target_sec, target)
    if g is None:
        return ("unknown", insn.text)
    return ("func", g, target - g.start)


def resolve_loaded(mod, value, section_hint):
    """A register known to hold ('sym', name, offset) -> a branch classification, or None."""
    _, sym, off = value
    r = mod.resolve_symbol(sym, section_hint)
    if r is None:
        return None
    if r[0] == "und":
        return classify_undefined(sym) if off == 0 else None
    g = mod.func_at(r[1], r[2] + off)
    if g is None:
        return None
    return ("func", g, r[2] + off - g.start)


def classify_undefined(name):
    if RE_RETURN_THUNK.search(name):
        return ("return_thunk",)
    if RE_INDIRECT_THUNK.search(name):
        return ("indirect",)
    return ("kernel", name)


def analyse(mod, f):
    """Frame size by abstract interpretation of the stack pointer over the control flow, and the
    function's calls and tail jumps."""
    index = {insn.addr: i for i, insn in enumerate(f.insns)}
    # Branch classification once per instruction.
    branch = {}
    for i, insn in enumerate(f.insns):
        mn = insn.mnem
        if mn == "call" or mn == "jmp" or is_jcc(mn):
            branch[i] = classify_branch(mod, f, insn)

    # Static branches: the nop at a jump label's site may become a jump to its target.
    labels = {}
    for i, insn in enumerate(f.insns):
        t = mod.jump_labels.get((f.section, insn.addr))
        if t is None:
            continue
        if t[0] == f.section and f.start <= t[1] < f.end:
            labels[i] = ("local", t[1])
        else:
            g = mod.func_at(t[0], t[1])
            labels[i] = ("func", g, t[1] - g.start) if g else ("unknown", "jump label to %s+%#x" % t)

    max_depth, max_at = 0, f.start
    unbounded = []
    notes = []
    seen = defaultdict(dict)      # index -> {depth: what rbp holds there, CONFLICT if it varies}
    depth_at = {}                  # index -> max depth seen there

    def flag(reason):
        if reason not in unbounded:
            unbounded.append(reason)

    def note(s):
        if s not in notes:
            notes.append(s)

    def touch(d, addr):
        nonlocal max_depth, max_at
        if d > max_depth:
            max_depth, max_at = d, addr

    def explore(start_index, start_depth):
        nonlocal max_depth, max_at
        work = [(start_index, start_depth, {})]
        while work:
            i, depth, regs = work.pop()
            while True:
                if i >= len(f.insns):
                    break
                # One state per (instruction, depth). What rbp holds only matters to `leave` or
                # `mov rsp, rbp`: when it differs between visits (rbp used as a plain register,
                # e.g. a loop counter) it is forgotten and the state explored once more.
                rbp = regs.get("rbp")
                if depth in seen[i]:
                    old = seen[i][depth]
                    if old == rbp or old is CONFLICT:
                        break
                    seen[i][depth] = CONFLICT
                    regs = dict(regs)
                    regs.pop("rbp", None)
                else:
                    if len(seen[i]) >= MAX_STATES_PER_INSN:
                        flag("stack pointer does not settle in a loop at %#x" % f.insns[i].addr)
                        break
                    seen[i][depth] = rbp
                depth_at[i] = max(depth_at.get(i, depth), depth)
                insn = f.insns[i]
                if depth > max_depth:
                    max_depth, max_at = depth, insn.addr
                regs = dict(regs)
                if i in labels:
                    if labels[i][0] == "local" and labels[i][1] in index:
                        work.append((index[labels[i][1]], depth, dict(regs)))
                    if insn.mnem == "jmp" and i + 1 < len(f.insns):  # patched into a nop
                        work.append((i + 1, depth, dict(regs)))
                kind, val = step(insn, depth, regs, branch.get(i), flag, note, touch, via_reg)
                if kind == "fall":
                    depth = val
                    i += 1
                    continue
                if kind == "stop":
                    break
                if kind == "succ":
                    succ = val
                    for addr, d, r in succ[1:]:
                        j = index.get(addr)
                        if j is None:
                            note("branch into the middle of an instruction at %#x" % addr)
                            continue
                        work.append((j, d, r))
                    addr, d, r = succ[0]
                    if addr is None:
                        break
                    j = index.get(addr)
                    if j is None:
                        note("branch into the middle of an instruction at %#x" % addr)
                        break
                    i, depth, regs = j, d, r
                    continue

    via_reg = {}
    explore(0, 0)
    # Code not reached from the start. Right after a `ud2`: the kernel's WARN traps there and
    # carries on with the next instruction, at the same depth. Otherwise jump-table targets
    # and entry points of split-off parts jumped to from other functions: analysed from the
    # depth of the function's indirect jumps (or 0).
    ind_depths = [depth_at[i] for i, b in branch.items() if b[0] == "indirect"
                  and f.insns[i].mnem == "jmp" and i in depth_at]
    seed = max(ind_depths) if ind_depths else 0
    for i, insn in enumerate(f.insns):
        if i in depth_at or is_padding(insn):
            continue
        prev = f.insns[i - 1] if i > 0 else None
        if prev is not None and (i - 1) in depth_at:
            if prev.mnem == "ud2":
                explore(i, depth_at[i - 1])
                continue
            if not ends_flow(prev):
                continue
        explore(i, seed)

    f.frame = 8 + max_depth
    f.max_at = max_at
    f.unbounded = unbounded
    f.notes = notes

    for i, b in list(branch.items()) + [(i, b) for i, b in labels.items() if b[0] != "local"]:
        insn = f.insns[i]
        d = depth_at.get(i, 0)
        if b[0] == "indirect" and insn.addr in via_reg:
            b = resolve_loaded(mod, via_reg[insn.addr], f.section) or b
        if b[0] == "func":
            g, off = b[1], b[2]
            if off:
                f.interior.append("%s %s+%#x at %#x" % (insn.mnem, g.name, off, insn.addr))
            if insn.mnem == "call" and i not in labels:
                f.calls[g] = max(f.calls.get(g, 0), d)
            else:
                f.tails[g] = max(f.tails.get(g, 0), d)
        elif b[0] == "kernel":
            if b[1] not in PROBESTACK:
                f.kernel_calls[b[1]] += 1
        elif b[0] == "indirect":
            if insn.mnem == "call":
                f.indirect_calls += 1
            else:
                f.indirect_jumps += 1
        elif b[0] == "return_thunk":
            f.return_thunks += 1
        elif b[0] == "unknown":
            note("unresolved branch target at %#x: %s" % (insn.addr, b[1]))


def symbol_address(insn, src):
    """`mov r, [rip+X]` through a GOT slot, `lea r, [rip+X]`, `mov r, imm32` relocated: the
    register then holds the address of a symbol: ('sym', name, offset)."""
    off, typ, sym, addend = insn.relocs[-1]
    if "[rip+" in src:
        if insn.mnem == "mov" and typ in GOT_RELOCS:
            return ("sym", sym, 0)
        if insn.mnem == "lea" and typ in ("R_X86_64_PC32", "R_X86_64_PLT32") and insn.next:
            return ("sym", sym, addend + (insn.next - off))
        return None
    if insn.mnem == "mov" and "[" not in src and typ in ("R_X86_64_32S", "R_X86_64_32", "R_X86_64_64"):
        return ("sym", sym, addend)
    return None


def is_jcc(mn):
    return (mn.startswith("j") and mn != "jmp") or mn in ("loop", "loope", "loopne", "loopz", "loopnz")


def is_padding(insn):
    return insn.mnem in ("nop", "int3", "ud2", "xchg") and (insn.mnem != "xchg" or insn.ops == "ax,ax")


def ends_flow(insn):
    return insn.mnem in ("ret", "ud2", "int3", "hlt", "jmp", "iretq", "iret", "sysret", "sysretq")


def reg_of(op):
    return REG_FULL.get(op.strip())


def step(insn, depth, regs, br, flag, note, touch, via_reg):
    """One instruction's effect. Returns ('fall', new_depth), ('stop', None) or
    ('succ', [(addr|None, depth, regs), ...]) - the first successor is continued directly."""
    mn, ops = insn.mnem, split_operands(insn.ops)
    where = "%#x" % insn.addr
    cmp_reg = regs.pop("__cmp_rsp", None)

    # Red-zone use: memory below the stack pointer.
    for op in ops:
        m = parse_mem(op)
        if m and m[0] == "rsp" and m[1] < 0 and mn != "lea":
            note("touches %d bytes below rsp (red zone) at %s" % (-m[1], where))
            touch(depth - m[1], insn.addr)

    # --- control flow ---
    if mn in ("ret", "iretq", "iret", "sysretq", "sysret", "ud2", "int3", "hlt"):
        if mn == "ret" and depth != 0:
            note("ret with %d bytes still on the stack at %s" % (depth, where))
        return ("stop", None)
    if mn in ("call", "jmp") and ops and reg_of(ops[0]):
        v = regs.get(reg_of(ops[0])[0])
        if v is not None and v[0] == "sym":
            via_reg[insn.addr] = v  # a function address loaded earlier (a hoisted GOT load)
    if mn == "call":
        # Calls clobber the caller-saved registers, except the stack probe, which keeps rax.
        if br and br[0] == "kernel" and br[1] in PROBESTACK:
            return ("fall", depth)
        for r in CALLER_SAVED:
            regs.pop(r, None)
        return ("fall", depth)
    if mn == "jmp":
        if br and br[0] == "local":
            return ("succ", [(br[1], depth, regs)])
        return ("stop", None)  # tail jump, indirect jump, return thunk
    if is_jcc(mn):
        succ_fall = (insn.next, depth, regs)
        if br and br[0] == "local":
            target = br[1]
            if cmp_reg is not None:
                # The end of a stack probe loop: `cmp rsp, REG; jcc`. Leaving the loop, rsp == REG.
                bound = regs.get(cmp_reg)
                if bound is None or bound[0] != "rsp":
                    flag("stack probe loop against an unknown bound at %s" % where)
                    newd = depth
                else:
                    newd = bound[1]
                if target <= insn.addr:      # backward: the loop; leaving it = falling through
                    return ("succ", [(insn.next, newd, regs)])
                return ("succ", [succ_fall, (target, newd, dict(regs))])
            return ("succ", [succ_fall, (target, depth, dict(regs))])
        return ("succ", [succ_fall])  # conditional tail jump: the other way leaves us

    # --- stack pointer ---
    dst = reg_of(ops[0]) if ops else None
    if mn == "push" or mn in ("pushf", "pushfq"):
        return ("fall", depth + 8)
    if mn == "pop" or mn in ("popf", "popfq"):
        if dst:
            if dst[0] == "rsp":
                flag("pop rsp at %s" % where)
                return ("fall", depth)
            regs.pop(dst[0], None)
        return ("fall", depth - 8)
    if mn == "leave":
        rbp = regs.get("rbp")
        if rbp is None or rbp[0] != "rsp":
            flag("leave without a known frame pointer at %s" % where)
            return ("fall", depth)
        regs.pop("rbp", None)
        return ("fall", rbp[1] - 8)
    if mn == "enter":
        size, level = (parse_imm(ops[0]) or 0), (parse_imm(ops[1]) if len(ops) > 1 else 0)
        if level:
            flag("enter with nesting level %d at %s" % (level, where))
        regs["rbp"] = ("rsp", depth + 8)
        note("enter %#x at %s" % (size, where))
        return ("fall", depth + 8 + size)

    if mn == "cmp" and len(ops) == 2:
        a, b = reg_of(ops[0]), reg_of(ops[1])
        if a and a[0] == "rsp" and b:
            regs["__cmp_rsp"] = b[0]
        elif b and b[0] == "rsp" and a:
            regs["__cmp_rsp"] = a[0]
        return ("fall", depth)

    if dst and dst[0] == "rsp" and mn not in NO_WRITE:
        src = ops[1] if len(ops) > 1 else ""
        imm = parse_imm(src)
        if mn in ("sub", "add") and imm is not None:
            return ("fall", depth + imm if mn == "sub" else depth - imm)
        if mn in ("sub", "add") and reg_of(src):
            v = regs.get(reg_of(src)[0])
            if v is not None and v[0] == "const":
                return ("fall", depth + v[1] if mn == "sub" else depth - v[1])
            if mn == "sub":
                flag("variable-size stack allocation (%s) at %s" % (insn.text, where))
            else:
                flag("stack pointer moved by an unknown amount (%s) at %s" % (insn.text, where))
            return ("fall", depth)
        if mn == "and" and imm is not None and imm < 0:
            align = -imm
            note("stack realigned to %d at %s (counted as %d bytes)" % (align, where, align - 8))
            return ("fall", depth + max(0, align - 8))
        if mn == "mov" and reg_of(src):
            v = regs.get(reg_of(src)[0])
            if v is not None and v[0] == "rsp":
                return ("fall", v[1])
        if mn == "lea":
            m = parse_mem(src)
            if m:
                base = ("rsp", depth) if m[0] == "rsp" else regs.get(m[0])
                if base is not None and base[0] == "rsp":
                    return ("fall", base[1] - m[1])
        flag("stack pointer set by an unrecognised instruction (%s) at %s" % (insn.text, where))
        return ("fall", depth)

    # --- registers we track: frame pointer, probe bounds, constants ---
    if dst and mn not in NO_WRITE:
        r, full = dst
        src = ops[1] if len(ops) > 1 else ""
        imm = parse_imm(src)
        new = None
        if full:
            if mn in ("mov", "lea") and insn.relocs:
                new = symbol_address(insn, src)
            elif mn == "mov" and reg_of(src) and reg_of(src)[0] == "rsp":
                new = ("rsp", depth)
            elif mn == "mov" and reg_of(src):
                new = regs.get(reg_of(src)[0])
            elif mn == "mov" and imm is not None:
                new = ("const", imm & 0xffffffff if ops[0] != r else imm)
            elif mn == "xor" and len(ops) == 2 and ops[0] == ops[1]:
                new = ("const", 0)
            elif mn == "lea":
                m = parse_mem(src)
                if m:
                    base = ("rsp", depth) if m[0] == "rsp" else regs.get(m[0])
                    if base is not None and base[0] == "rsp":
                        new = ("rsp", base[1] - m[1])
                    elif base is not None and base[0] == "const":
                        new = ("const", base[1] + m[1])
            elif mn in ("sub", "add") and imm is not None and r in regs:
                cur = regs[r]
                if cur[0] == "rsp":
                    new = ("rsp", cur[1] + imm if mn == "sub" else cur[1] - imm)
                elif cur[0] == "const":
                    new = ("const", cur[1] - imm if mn == "sub" else cur[1] + imm)
        if new is None:
            regs.pop(r, None)
        else:
            regs[r] = new
    base_mn = re.sub(r"[bwdq]$", "", mn) if mn not in IMPLICIT_WRITES else mn
    for r in IMPLICIT_WRITES.get(mn, IMPLICIT_WRITES.get(base_mn, [])):
        regs.pop(r, None)
    if len(ops) == 2 and mn in ("xchg", "xadd", "cmpxchg") and reg_of(ops[1]):
        if reg_of(ops[1])[0] == "rsp":
            flag("stack pointer exchanged (%s) at %s" % (insn.text, where))
        regs.pop(reg_of(ops[1])[0], None)
    return ("fall", depth)


# --- paths -----------------------------------------------------------------------------------

class Recursion(Exception):
    def __init__(self, cycle):
        super().__init__()
        self.cycle = cycle


def deepest(mod, f, memo, stack):
    """(total bytes, chain [(func, counted bytes, separator to the next)], unbounded
    [(func, reason)]) for the deepest path from f."""
    if f in memo:
        return memo[f]
    if f in stack:
        raise Recursion(stack[stack.index(f):] + [f])
    stack.append(f)
    best = (f.frame, [(f, f.frame, None)])
    unb = [(f, r) for r in f.unbounded]
    for g in sorted(f.calls, key=lambda g: g.start):
        t, chain, u = deepest(mod, g, memo, stack)
        unb += [x for x in u if x not in unb]
        if f.frame + t > best[0]:
            best = (f.frame + t, [(f, f.frame, ">")] + chain)
    for g, d in sorted(f.tails.items(), key=lambda x: x[0].start):
        t, chain, u = deepest(mod, g, memo, stack)
        unb += [x for x in u if x not in unb]
        if d + t > best[0]:
            best = (d + t, [(f, d, ">>")] + chain)
    stack.pop()
    memo[f] = (best[0], best[1], unb)
    return memo[f]


def format_chain(mod, chain, first_name=None):
    parts = []
    for k, (g, counted, sep) in enumerate(chain):
        name = first_name if k == 0 and first_name else mod.display(g)
        mark = ">=" if g.unbounded else ""
        if sep == ">>":
            parts.append("%s %s%d/%d >>" % (name, mark, counted, g.frame))
        else:
            parts.append("%s %s%d%s" % (name, mark, counted, " >" if sep else ""))
    return " ".join(parts)


def reachable(f):
    seen, order, todo = set(), [], [f]
    while todo:
        g = todo.pop()
        if g in seen:
            continue
        seen.add(g)
        order.append(g)
        todo.extend(sorted(set(g.calls) | set(g.tails), key=lambda h: -h.start))
    return order


def describe(mod, f, out):
    out.append("  %s  [%s %s+%#x]" % (mod.display(f), f.name, f.section, f.start))
    frame = "%s%d" % (">=" if f.unbounded else "", f.frame)
    out.append("    frame %s bytes (8 return address + %d, deepest at %#x)"
               % (frame, f.frame - 8, f.max_at))
    for r in f.unbounded:
        out.append("    UNBOUNDED: %s" % r)
    for n in f.notes:
        out.append("    note: %s" % n)
    for g, d in sorted(f.calls.items(), key=lambda x: x[0].start):
        out.append("    -> %s (%d)" % (mod.display(g), g.frame))
    for g, d in sorted(f.tails.items(), key=lambda x: x[0].start):
        out.append("    >> %s (%d, tail jump holding %d)" % (mod.display(g), g.frame, d))
    for s in f.interior:
        out.append("    note: into the middle of a function: %s" % s)
    for name in sorted(f.kernel_calls):
        out.append("    -> %s (kernel)" % mod.short(name))
    if f.indirect_calls or f.indirect_jumps or f.return_thunks:
        out.append("    indirect calls %d, indirect jumps %d, returns through a thunk %d (not followed)"
                   % (f.indirect_calls, f.indirect_jumps, f.return_thunks))


def hidden(f):
    """Call padding and CFI preambles, and code in a section without symbols
    (.altinstr_replacement): not functions of their own."""
    return f.pseudo or f.name.startswith(("__pfx_", "__cfi_"))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Stack used by a module's own frames along its deepest call chains.",
        epilog="`a 0/16 >> b`: a tail-jumps to b; a's 16-byte frame is released first and only "
               "the first number (what a still holds at the jump) is counted.")
    ap.add_argument("module", help="the module object (.ko or .o, x86_64)")
    ap.add_argument("--entry", action="append", default=[], metavar="REGEX",
                    help="a function (raw or demangled name, regex search) to start from")
    ap.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="BYTES",
                    help="the most an entry's deepest chain may use (default %d)" % DEFAULT_LIMIT)
    ap.add_argument("--list", action="store_true", help="every function's frame, biggest first")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="per function: calls, kernel leaves, indirect calls, notes")
    ap.add_argument("--objdump", default="objdump", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not args.entry and not args.list:
        ap.error("give --entry REGEX (one or more) or --list")

    mod = Module(args.module, args.objdump)
    status = 0

    if args.list:
        funcs = [f for f in mod.funcs if not hidden(f)]
        funcs.sort(key=lambda f: (-f.frame, mod.display(f)))
        for f in funcs:
            flagged = " (unbounded: %s)" % "; ".join(f.unbounded) if f.unbounded else ""
            raw = "  [%s]" % f.name if args.verbose and f.name != mod.display(f) else ""
            print("%7s  %s%s%s" % (("%s%d" % (">=" if f.unbounded else "", f.frame)),
                                  mod.display(f), raw, flagged))
        if args.verbose:
            out = []
            for f in funcs:
                describe(mod, f, out)
            print("\n".join(out))

    entries, errors = [], []
    for pat in args.entry:
        try:
            rx = re.compile(pat)
        except re.error as e:
            errors.append("--entry %r: bad regex: %s" % (pat, e))
            continue
        found = [(f, mod.matches(f, rx)) for f in mod.funcs if not hidden(f)]
        found = [(f, alias) for f, alias in found if alias]
        if not found:
            errors.append("--entry %r matches no function in %s" % (pat, args.module))
        for f, alias in found:
            if all(f is not g for g, _ in entries):
                entries.append((f, alias))

    memo, worst, over, bad = {}, None, 0, 0
    details = []
    for f, alias in entries:
        # Named as matched: identical functions folded into one body have several names.
        name = mod.short(alias)
        try:
            total, chain, unb = deepest(mod, f, memo, [])
        except Recursion as r:
            print("%s: recursion: %s" % (name, " > ".join(mod.display(g) for g in r.cycle)))
            bad += 1
            continue
        mark = ">= " if unb else ""
        verdict = ""
        if total > args.limit:
            verdict = "  OVER LIMIT %d" % args.limit
            over += 1
        if unb:
            verdict += "  UNBOUNDED: " + "; ".join("%s: %s" % (mod.display(g), r) for g, r in unb)
            bad += 1
        print("%s: %s%d bytes (%s)%s" % (name, mark, total, format_chain(mod, chain, name), verdict))
        if worst is None or total > worst[0]:
            worst = (total, name)
        if args.verbose:
            for g in reachable(f):
                if g not in details:
                    details.append(g)
    if args.verbose and details:
        out = ["functions reachable from the entries:"]
        for g in details:
            describe(mod, g, out)
        print("\n".join(out))
    for e in errors:
        print("error: %s" % e)
    if args.entry:
        summary = "%d entries, limit %d bytes" % (len(entries), args.limit)
        if worst:
            summary += ", deepest %d (%s)" % worst
        summary += ": %d over the limit, %d errors" % (over, bad + len(errors))
        print(summary)
    if bad or errors:
        status = 2
    elif over:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
