#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Self-test of scripts/stack_usage.py (no pytest): `python3 tests/test_stack_usage.py`.

Builds small relocatable objects with known call graphs and frames in a temporary directory -
C with gcc (frame pointer kept and omitted, stack-clash probes, a VLA), Rust with rustc (once
like the kernel builds a module: static relocation model, one .text section so that calls
between local functions carry no relocation, IBT landing pads, v0 mangling; once with the
defaults: PIC calls through the GOT, a section per function, legacy mangling) and a hand
written assembly file for the patterns compilers rarely emit (enter, realignment, probe loop,
__rust_probestack, thunks, a split-off cold part, aliases, __pfx_ padding) - and checks the
frames, the deepest paths and the command line. Ends with `N passed, N failed`; exits non-zero
on a failure. A fixture whose compiler is missing is skipped (and said so).
"""

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "stack_usage.py")
sys.dont_write_bytecode = True  # no scripts/__pycache__ left behind
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import stack_usage as su  # noqa: E402

PASSED, FAILED, SKIPPED = [], [], []


def check(name, cond, detail=""):
    if cond:
        PASSED.append(name)
    else:
        FAILED.append(name)
        print("FAIL %s%s" % (name, (": " + str(detail)) if detail != "" else ""))


def sh(cmd, cwd, env=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    return p.returncode == 0, p.stdout + p.stderr


def cli(*args):
    p = subprocess.run([sys.executable, SCRIPT] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def by_name(mod):
    """Short demangled name -> Func."""
    return {mod.display(f): f for f in mod.funcs}


def path_of(mod, f):
    total, chain, unb = su.deepest(mod, f, {}, [])
    return total, [mod.display(g) for g, _, _ in chain], chain, unb


# --- fixtures --------------------------------------------------------------------------------

C_SRC = r"""
void ext(char *);
void ext8(long, long, long, long, long, long, long, long);
__attribute__((noinline)) void leaf(int n) { char b[500]; b[0] = n; ext(b); }
__attribute__((noinline)) void mid(int n) { char b[600]; b[0] = n; ext(b); leaf(n); }
void top(int n) { mid(n); leaf(n); }                 /* a call, then a tail jump */
__attribute__((noinline)) static void helper(int n) { char b[100]; b[0] = n; ext(b); ext(b); }
void viastatic(int n) { helper(n); helper(n + 1); }
int sw(int n)                                         /* the frame only on the rare branch */
{
	if (__builtin_expect(n == 7, 0)) { char b[300]; ext(b); __builtin_trap(); }
	return n * 3;
}
void args(int n) { ext8(1, 2, 3, 4, 5, 6, n, n); ext8(1, 2, 3, 4, 5, 6, n, 9); }
void fptr(void (*f)(int), int n) { f(n); f(n + 1); }  /* an indirect call and jump */
"""

CLASH_SRC = r"""
void ext(char *);
__attribute__((noinline)) void huge(int n) { char b[70000]; b[0] = n; ext(b); }
__attribute__((noinline)) void vla(int n) { char b[n]; ext(b); }
void calls_vla(int n) { vla(n); ext(0); }
"""

RUST_SRC = r"""
#![no_std]
extern "C" { fn ext(p: *mut u8); fn ext_fn(f: extern "C" fn(u32)); }
#[inline(never)] fn leaf(n: u32) { let mut b = [0u8; 500]; b[0] = n as u8; unsafe { ext(b.as_mut_ptr()) } }
#[inline(never)] fn mid(n: u32) { let mut b = [0u8; 600]; b[0] = n as u8; unsafe { ext(b.as_mut_ptr()) }; leaf(n) }
#[no_mangle] pub extern "C" fn top(n: u32) { mid(n); if n > 3 { leaf(n + 1) } }
#[inline(never)] fn big(n: u32) { let mut b = [0u8; 20000]; b[0] = n as u8; unsafe { ext(b.as_mut_ptr()) } }
extern "C" fn cb(n: u32) { leaf(n) }
#[no_mangle] pub extern "C" fn callsbig(n: u32) { big(n); unsafe { ext_fn(cb) } }
pub trait Cb { fn run(&self, n: u32); }
pub struct Z;
impl Cb for Z { fn run(&self, n: u32) { leaf(n) } }
#[no_mangle] pub fn dynamic(c: &dyn Cb, n: u32) { c.run(n); c.run(n + 1) }
#[inline(never)] pub fn gleaf(n: u32) { let mut b = [0u8; 200]; b[0] = n as u8; unsafe { ext(b.as_mut_ptr()) } }
#[no_mangle] pub extern "C" fn gtop(n: u32) { gleaf(n); gleaf(n + 1) }
#[no_mangle] pub extern "C" fn rec(n: u32) -> u32 {
    if n == 0 { 0 } else { let mut b = [0u8; 64]; b[1] = n as u8; unsafe { ext(b.as_mut_ptr()) }; rec(n - 1) + b[3] as u32 }
}
"""

ASM_SRC = r"""
	.intel_syntax noprefix
	.text
	.globl entry_a
	.type entry_a,@function
	.globl entry_alias
	.type entry_alias,@function
__pfx_entry_a:
	nop
	nop
entry_a:
entry_alias:
	endbr64
	push rbp
	mov rbp, rsp
	and rsp, -64                 # counted as 56
	sub rsp, 0x80                # 192 below the entry: frame 200
	test edi, edi
	jne big_probe                # a conditional tail jump holding 192
	call [rip + got_helper@GOTPCREL]
	cmp edi, 3
	je .Lcold_in                 # into the middle of the split-off cold part
	mov rsp, rbp
	pop rbp
	ret
	int3
	.size entry_a, .-entry_a

	.type got_helper,@function
got_helper:
	push rbx
	push r12
	sub rsp, 0x28                # frame 8 + 16 + 40 = 64
	call ext_kernel_fn
	add rsp, 0x28
	pop r12
	pop rbx
	ret
	.size got_helper, .-got_helper

	.globl big_probe
	.type big_probe,@function
big_probe:
	push rbp
	mov rbp, rsp
	mov eax, 0x2010
	call __rust_probestack
	sub rsp, rax                 # frame 8 + 8 + 0x2010 = 8224
	call got_helper
	lea rsp, [rbp]
	pop rbp
	ret
	.size big_probe, .-big_probe

	.globl loop_probe
	.type loop_probe,@function
loop_probe:
	mov r11, rsp
	sub r11, 0x3000
1:	sub rsp, 0x1000
	mov QWORD PTR [rsp], 0
	cmp rsp, r11
	jne 1b
	sub rsp, 0x20                # frame 8 + 0x3020 = 12328
	call got_helper
	add rsp, 0x3020
	ret
	.size loop_probe, .-loop_probe

	.globl weird
	.type weird,@function
weird:
	push rbx
	mov rsp, rax                 # not recognised: unbounded
	pop rbx
	ret
	.size weird, .-weird

	.globl calls_weird
	.type calls_weird,@function
calls_weird:
	sub rsp, 8
	call weird
	add rsp, 8
	ret
	.size calls_weird, .-calls_weird

	.section .text.unlikely,"ax",@progbits
	.type entry_a.cold,@function
entry_a.cold:
	push rdx
	push rdx
	pop rdx
	pop rdx
	jmp ext_kernel_fn            # a tail call: what follows is reached from elsewhere only
.Lcold_in:
	push rcx                     # frame 8 + 16 = 24
	call got_helper
	ud2
	.size entry_a.cold, .-entry_a.cold

	.section .text.ent,"ax",@progbits
	.globl ent
	.type ent,@function
ent:
	enter 0x40, 0                # frame 8 + 8 + 0x40 = 80
	call helper_local            # a relocation against the section symbol .text.hl
	leave
	ret
	.size ent, .-ent

	.section .text.hl,"ax",@progbits
	.type helper_local,@function
helper_local:
	sub rsp, 0x18                # frame 32
	call [rip + fptr]            # through a data symbol: indirect
	call __x86_indirect_thunk_rax
	add rsp, 0x18
	jmp __x86_return_thunk
	.size helper_local, .-helper_local

	.section .text.self,"ax",@progbits
	.globl ping
	.type ping,@function
ping:
	sub rsp, 8
	call pong
	add rsp, 8
	ret
	.size ping, .-ping
	.globl pong
	.type pong,@function
pong:
	jmp ping                     # mutual recursion through a tail jump
	.size pong, .-pong

	.text
	.globl warn_fn
	.type warn_fn,@function
warn_fn:
	push rbx
	sub rsp, 0x10
	call ext_kernel_fn
	ud2                          # the kernel's WARN: the trap handler carries on after it
	sub rsp, 0x20                # 0x38 below the entry: frame 64
	call ext_kernel_fn
	add rsp, 0x30
	pop rbx
	ret
	.size warn_fn, .-warn_fn

	.globl static_key_user
	.type static_key_user,@function
static_key_user:
	push rbx
1:	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00   # a jump label's nop, may become `jmp 2f`
	pop rbx
	ret
2:	sub rsp, 0x40                # reached only through the jump label: frame 8 + 8 + 0x40 = 80
	call ext_kernel_fn
	add rsp, 0x40
	pop rbx
	ret
	.size static_key_user, .-static_key_user

	.globl key_default_on
	.type key_default_on,@function
key_default_on:
3:	jmp 4f                       # a jump label's jmp, may become a nop
	push rbx
	push rbx
	call ext_kernel_fn           # frame 8 + 16 = 24
	pop rbx
	pop rbx
4:	jmp got_helper               # conditional only through the label: a tail jump
	.size key_default_on, .-key_default_on

	.pushsection __jump_table, "aw"
	.balign 8
	.long 1b - .
	.long 2b - .
	.quad fptr - .
	.long 3b - .
	.long 4b - .
	.quad fptr - .
	.popsection

	.data
fptr:	.quad 0
"""


def test_c(tmp):
    if not shutil.which("gcc"):
        SKIPPED.append("C fixtures (no gcc)")
        return
    src = os.path.join(tmp, "c.c")
    with open(src, "w") as fh:
        fh.write(C_SRC)
    for fp in ("-fno-omit-frame-pointer", "-fomit-frame-pointer"):
        obj = os.path.join(tmp, "c%s.o" % fp)
        ok, out = sh(["gcc", "-c", "-O2", "-ffunction-sections", "-mno-red-zone", fp, src, "-o", obj], tmp)
        check("gcc %s builds" % fp, ok, out)
        if not ok:
            continue
        mod = su.Module(obj)
        fs = by_name(mod)
        t = "C %s: " % fp
        check(t + "leaf frame", 8 + 500 <= fs["leaf"].frame <= 8 + 500 + 48, fs["leaf"].frame)
        check(t + "mid frame", 8 + 600 <= fs["mid"].frame <= 8 + 600 + 56, fs["mid"].frame)
        check(t + "top frame small", fs["top"].frame <= 40, fs["top"].frame)
        check(t + "top calls mid, tail-jumps to leaf",
              fs["mid"] in fs["top"].calls and fs["leaf"] in fs["top"].tails,
              (fs["top"].calls, fs["top"].tails))
        total, names, chain, unb = path_of(mod, fs["top"])
        check(t + "deepest path top > mid > leaf", names == ["top", "mid", "leaf"], names)
        check(t + "path total is the sum", total == fs["top"].frame + fs["mid"].frame + fs["leaf"].frame,
              total)
        check(t + "kernel leaf named", "ext" in fs["leaf"].kernel_calls, dict(fs["leaf"].kernel_calls))
        helper = [f for f in mod.funcs if mod.display(f).startswith("helper")]
        check(t + "static helper reached", len(helper) == 1 and helper[0] in
              set(fs["viastatic"].calls) | set(fs["viastatic"].tails), helper)
        if helper:
            check(t + "static helper frame", 108 <= helper[0].frame <= 108 + 56, helper[0].frame)
        check(t + "shrink-wrapped frame after the early return", fs["sw"].frame >= 8 + 300, fs["sw"].frame)
        check(t + "stack arguments pushed around calls counted", fs["args"].frame >= 8 + 16 + 8,
              fs["args"].frame)
        f = fs["fptr"]
        check(t + "indirect call and jump counted, not followed",
              f.indirect_calls + f.indirect_jumps == 2 and not f.calls and not f.tails,
              (f.indirect_calls, f.indirect_jumps))
        check(t + "nothing unbounded", not any(g.unbounded for g in mod.funcs),
              [(g.name, g.unbounded) for g in mod.funcs if g.unbounded])

        # The command line on the same object.
        rc, out = cli(obj, "--entry", "^top$")
        check(t + "over the default limit exits 1", rc == 1 and "OVER LIMIT 1024" in out, (rc, out))
        line = "top: %d bytes (top %d > mid %d > leaf %d)" % (
            total, fs["top"].frame, fs["mid"].frame, fs["leaf"].frame)
        check(t + "entry line", line in out, out)
        rc, out = cli(obj, "--entry", "^top$", "--entry", "viastatic", "--limit", "5000", "--verbose")
        check(t + "within the limit exits 0", rc == 0, (rc, out))
        check(t + "verbose names kernel leaves", "-> ext (kernel)" in out, out)
        check(t + "final line", out.rstrip().splitlines()[-1].startswith("2 entries, limit 5000 bytes"), out)
        rc, out = cli(obj, "--entry", "fptr", "-v")
        check(t + "verbose counts indirect calls", "indirect calls 1, indirect jumps 1" in out, out)


def test_clash(tmp):
    if not shutil.which("gcc"):
        return
    src = os.path.join(tmp, "clash.c")
    with open(src, "w") as fh:
        fh.write(CLASH_SRC)
    obj = os.path.join(tmp, "clash.o")
    ok, out = sh(["gcc", "-c", "-O2", "-ffunction-sections", "-mno-red-zone", "-fomit-frame-pointer",
                  "-fstack-clash-protection", src, "-o", obj], tmp)
    check("gcc -fstack-clash-protection builds", ok, out)
    if not ok:
        return
    mod = su.Module(obj)
    fs = by_name(mod)
    check("probe loop (lea r11,[rsp-N] ... cmp rsp,r11) counted",
          70000 + 8 <= fs["huge"].frame <= 70000 + 64 and not fs["huge"].unbounded,
          (fs["huge"].frame, fs["huge"].unbounded))
    check("VLA is unbounded, not 0", bool(fs["vla"].unbounded), fs["vla"].frame)
    rc, out = cli(obj, "--entry", "calls_vla", "--limit", "100000")
    check("unbounded frame on the path: exit 2, reason named",
          rc == 2 and "UNBOUNDED" in out and "vla" in out and ">= " in out, (rc, out))


def rustc_obj(tmp, name, flags, env=None):
    src = os.path.join(tmp, name + ".rs")
    with open(src, "w") as fh:
        fh.write(RUST_SRC)
    obj = os.path.join(tmp, name + ".o")
    ok, out = sh(["rustc", "--crate-type=lib", "--emit=obj", "-C", "opt-level=2", "-C", "panic=abort",
                  "--crate-name", name] + flags + [src, "-o", obj], tmp, env)
    return ok, out, obj


def test_rust_kernel_like(tmp):
    if not shutil.which("rustc"):
        SKIPPED.append("Rust fixtures (no rustc)")
        return
    flags = ["-C", "relocation-model=static", "-C", "code-model=kernel", "-C", "no-redzone=y",
             "-C", "force-frame-pointers=y", "-C", "symbol-mangling-version=v0"]
    ok, out, obj = rustc_obj(tmp, "kmod", flags + ["-Zfunction-sections=n", "-Zcf-protection=branch"],
                             {"RUSTC_BOOTSTRAP": "1"})
    if not ok:  # a rustc refusing -Z: the same without one section and IBT
        SKIPPED.append("rustc -Z flags (%s)" % out.strip().splitlines()[-1:])
        ok, out, obj = rustc_obj(tmp, "kmod", flags)
    check("rustc (kernel-like) builds", ok, out)
    if not ok:
        return
    mod = su.Module(obj)
    fs = by_name(mod)
    t = "Rust kernel-like: "
    leaf, mid, top = fs.get("kmod::leaf"), fs.get("kmod::mid"), fs.get("top")
    check(t + "functions found (v0 demangled)", leaf and mid and top, sorted(fs))
    if not (leaf and mid and top):
        return
    check(t + "leaf frame", 508 <= leaf.frame <= 508 + 48, leaf.frame)
    check(t + "mid frame", 608 <= mid.frame <= 608 + 48, mid.frame)
    # With one .text section, calls to local functions were resolved by the assembler.
    unrelocated = [i for i in top.insns if i.mnem == "call" and not i.relocs]
    check(t + "top's call to mid carries no relocation (fixture sanity)",
          len(unrelocated) == 1 or mid.section != top.section, [i.text for i in top.insns])
    total, names, chain, unb = path_of(mod, top)
    check(t + "deepest path top > mid > leaf", names == ["top", "kmod::mid", "kmod::leaf"], names)
    check(t + "path total", total == top.frame + mid.frame + leaf.frame, total)
    gtop, gleaf = fs["gtop"], fs["kmod::gleaf"]
    check(t + "call and tail jump to a global fn (relocated) followed",
          gleaf in gtop.calls and gleaf in gtop.tails, (gtop.calls, gtop.tails))
    run = [f for n, f in fs.items() if n.endswith("as kmod::Cb>::run")]
    check(t + "trait method found", len(run) == 1, sorted(fs))
    if run:
        total, names, chain, unb = path_of(mod, run[0])
        check(t + "tail jump: only what the jumper holds is counted",
              names[-1] == "kmod::leaf" and chain[0][2] == ">>" and total == chain[0][1] + leaf.frame,
              (names, total))
    big = fs.get("kmod::big")
    check(t + "unrolled probes counted", big and 20000 + 8 <= big.frame <= 20000 + 64 and not big.unbounded,
          big and (big.frame, big.unbounded))
    total, names, chain, unb = path_of(mod, fs["callsbig"])
    check(t + "callsbig > big", names == ["callsbig", "kmod::big"], names)
    dyn = fs["dynamic"]
    check(t + "dyn calls counted, not followed",
          dyn.indirect_calls + dyn.indirect_jumps == 2 and not dyn.calls and not dyn.tails,
          (dyn.indirect_calls, dyn.indirect_jumps, dyn.calls, dyn.tails))
    try:
        su.deepest(mod, fs["rec"], {}, [])
        check(t + "recursion detected", False)
    except su.Recursion as r:
        check(t + "recursion detected", [mod.display(g) for g in r.cycle] == ["rec", "rec"], r.cycle)
    rc, out = cli(obj, "--entry", "^rec$")
    check(t + "recursion is an error (exit 2)", rc == 2 and "rec: recursion: rec > rec" in out, (rc, out))
    # --entry matches demangled names without the crate hash, and raw names.
    rc, out = cli(obj, "--entry", r"kmod::mid$", "--entry", r"^_RNv.*4kmod4leaf$", "--limit", "2000")
    check(t + "entries by demangled and raw name", rc == 0 and "kmod::mid: %d bytes" % (mid.frame + leaf.frame)
          in out and "kmod::leaf: %d bytes (kmod::leaf %d)" % (leaf.frame, leaf.frame) in out, (rc, out))
    rc, out = cli(obj, "--entry", "^top$", "--entry", "no_such_function")
    check(t + "unknown entry is an error naming it", rc == 2 and "'no_such_function' matches no function"
          in out, (rc, out))
    rc, out = cli(obj, "--list")
    sizes = [int(line.split()[0].lstrip(">=")) for line in out.splitlines() if line.strip()]
    check(t + "--list sorted, biggest first", rc == 0 and sizes == sorted(sizes, reverse=True)
          and len(sizes) == len(mod.funcs) and out.split()[1] == "kmod::big", out)


def test_rust_default(tmp):
    if not shutil.which("rustc"):
        return
    ok, out, obj = rustc_obj(tmp, "pic", ["-C", "no-redzone=y", "-Z", "unstable-options",
                                              "-C", "symbol-mangling-version=legacy"],
                             {"RUSTC_BOOTSTRAP": "1"})
    check("rustc (PIC, legacy mangling) builds", ok, out)
    if not ok:
        return
    mod = su.Module(obj)
    fs = by_name(mod)
    top, mid, leaf = fs.get("top"), fs.get("pic::mid"), fs.get("pic::leaf")
    check("PIC: functions found (legacy demangled)", top and mid and leaf, sorted(fs))
    if not (top and mid and leaf):
        return
    total, names, chain, unb = path_of(mod, top)
    check("PIC: top > mid > leaf", names == ["top", "pic::mid", "pic::leaf"], names)
    gtop, gleaf = fs.get("gtop"), fs.get("pic::gleaf")
    # `call [rip+X@GOTPCREL]`, or the GOT slot loaded once into a register: `call r14; jmp rax`.
    got = [i for i in gtop.insns if any("GOTPCREL" in r[1] for r in i.relocs)]
    check("PIC: calls to a pub fn go through the GOT (fixture sanity)", got, [i.text for i in gtop.insns])
    check("PIC: call and tail jump through the GOT (or a register loaded from it) followed",
          gleaf in gtop.calls and gleaf in gtop.tails, (gtop.calls, gtop.tails))
    total, names, chain, unb = path_of(mod, gtop)
    check("PIC: gtop > gleaf", names == ["gtop", "pic::gleaf"] and total == gtop.frame + gleaf.frame,
          (names, total))
    rc, out = cli(obj, "--entry", r"^pic::mid$", "--limit", "2000")
    check("PIC: entry by legacy demangled name", rc == 0 and out.startswith("pic::mid: %d bytes"
                                                                             % (mid.frame + leaf.frame)), out)


def test_asm(tmp):
    if not shutil.which("gcc"):
        return
    src = os.path.join(tmp, "patterns.s")
    with open(src, "w") as fh:
        fh.write(ASM_SRC)
    obj = os.path.join(tmp, "patterns.o")
    ok, out = sh(["gcc", "-c", src, "-o", obj], tmp)
    check("assembly fixture builds", ok, out)
    if not ok:
        return
    mod = su.Module(obj)
    fs = by_name(mod)
    expect = {"entry_a": 200, "got_helper": 64, "big_probe": 8224, "loop_probe": 12328,
              "entry_a.cold": 24, "ent": 80, "helper_local": 32, "calls_weird": 16,
              "warn_fn": 64, "static_key_user": 80, "key_default_on": 24}
    for name, size in expect.items():
        check("asm: frame of %s" % name, name in fs and fs[name].frame == size,
              fs.get(name) and (fs[name].frame, fs[name].unbounded, fs[name].notes))
    check("asm: mov rsp,<unknown> is unbounded", fs["weird"].unbounded, fs["weird"].frame)
    a = fs["entry_a"]
    check("asm: GOT call, conditional tail jump, jump into the cold part",
          fs["got_helper"] in a.calls and a.tails.get(fs["big_probe"]) == 192
          and fs["entry_a.cold"] in a.tails, (a.calls, a.tails))
    total, names, chain, unb = path_of(mod, a)
    check("asm: deepest path via the conditional tail jump",
          names == ["entry_a", "big_probe", "got_helper"] and total == 192 + 8224 + 64, (names, total))
    check("asm: __rust_probestack is not a kernel leaf", not fs["big_probe"].kernel_calls,
          fs["big_probe"].kernel_calls)
    h = fs["helper_local"]
    check("asm: data-symbol call and indirect thunk are indirect; return thunk counted",
          h.indirect_calls == 2 and h.return_thunks == 1 and not h.calls and not h.kernel_calls,
          (h.indirect_calls, h.return_thunks, h.calls, dict(h.kernel_calls)))
    check("asm: call through a section-symbol relocation", h in fs["ent"].calls, fs["ent"].calls)
    try:
        su.deepest(mod, fs["ping"], {}, [])
        check("asm: recursion through a tail jump", False)
    except su.Recursion as r:
        check("asm: recursion through a tail jump", [mod.display(g) for g in r.cycle] == ["ping", "pong", "ping"],
              r.cycle)

    rc, out = cli(obj, "--entry", "entry_alias", "--limit", "9000")
    check("asm: an alias symbol matches its function",
          rc == 0 and "entry_alias: 8480 bytes (entry_alias 192/200 >> big_probe 8224 > got_helper 64)"
          in out,
          (rc, out))
    check("asm: tail jump after a jump label's jmp", fs["got_helper"] in fs["key_default_on"].tails,
          fs["key_default_on"].tails)
    rc, out = cli(obj, "--entry", "^calls_weird$")
    check("asm: unbounded callee makes the entry an error", rc == 2 and "UNBOUNDED: weird:" in out, (rc, out))
    rc, out = cli(obj, "--list")
    check("asm: __pfx_ padding not listed", rc == 0 and "__pfx_" not in out, out)
    rc, out = cli(obj, "--entry", "^ent$", "-v")
    check("asm: verbose counts thunks",
          "indirect calls 2, indirect jumps 0, returns through a thunk 1" in out
          and "note: enter 0x40" in out and "ent: 112 bytes (ent 80 > helper_local 32)" in out, out)


def main():
    if not shutil.which("objdump"):
        print("objdump missing: nothing tested\n0 passed, 1 failed")
        return 1
    with tempfile.TemporaryDirectory(prefix="stack_usage_test.") as tmp:
        for t in (test_c, test_clash, test_rust_kernel_like, test_rust_default, test_asm):
            try:
                t(tmp)
            except Exception as e:  # a crash of the script under test is a failure, not an abort
                import traceback
                traceback.print_exc()
                check("%s ran" % t.__name__, False, e)
    for s in SKIPPED:
        print("skipped: %s" % s)
    print("%d passed, %d failed" % (len(PASSED), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
