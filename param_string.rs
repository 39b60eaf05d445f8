// SPDX-License-Identifier: GPL-2.0

//! String module parameters (the `module!` macro of this kernel offers only integers and
//! booleans).
//!
//! [`string_param!`] declares a parameter backed by the kernel's own `param_ops_string`, which
//! copies the value into a static buffer when the module is loaded (or, for a built-in kernel,
//! when the command line is parsed). The parameter is not exposed in sysfs (permission 0), so
//! after `init` starts nothing writes the buffer again and reading it is race-free.

use core::cell::UnsafeCell;

/// The buffer a string parameter is copied into.
#[repr(transparent)]
pub(crate) struct ParamBuf<const N: usize>(UnsafeCell<[u8; N]>);

// SAFETY: the kernel writes the buffer only while parsing parameters, before the module's
// `init` runs and before any Rust code can read it; afterwards it is only read.
unsafe impl<const N: usize> Sync for ParamBuf<N> {}

impl<const N: usize> ParamBuf<N> {
    /// A buffer holding `default` (NUL-terminated; `default` must be shorter than `N`).
    pub(crate) const fn new(default: &[u8]) -> Self {
        let mut buf = [0u8; N];
        let mut i = 0;
        while i < default.len() && i + 1 < N {
            buf[i] = default[i];
            i += 1;
        }
        ParamBuf(UnsafeCell::new(buf))
    }

    /// The buffer's address, for `struct kparam_string`.
    pub(crate) const fn as_mut_ptr(&self) -> *mut u8 {
        self.0.get().cast()
    }

    /// The value (without its NUL terminator).
    pub(crate) fn value(&self) -> &[u8] {
        // SAFETY: see the `Sync` impl: no writer exists once Rust code runs.
        let buf = unsafe { &*self.0.get() };
        let len = buf.iter().position(|&b| b == 0).unwrap_or(N);
        &buf[..len]
    }
}

/// `struct kparam_string` is read-only after construction and points to a static buffer.
#[repr(transparent)]
pub(crate) struct KparamString(pub(crate) kernel::bindings::kparam_string);
// SAFETY: immutable; the buffer it points to is a `ParamBuf` (see its `Sync` impl).
unsafe impl Sync for KparamString {}

/// Declares `pub(crate) static $name: ParamBuf<$len>` as the string module parameter `$name`
/// (at most `$len - 1` bytes), described by `$desc` in modinfo.
macro_rules! string_param {
    ($name:ident, $len:literal, $default:literal, $desc:literal) => {
        #[allow(non_upper_case_globals)]
        pub(crate) static $name: $crate::param_string::ParamBuf<$len> =
            $crate::param_string::ParamBuf::new($default);

        const _: () = {
            static KPS: $crate::param_string::KparamString =
                $crate::param_string::KparamString(kernel::bindings::kparam_string {
                    maxlen: $len,
                    string: $name.as_mut_ptr().cast(),
                });

            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: kernel::module_param::KernelParam =
                kernel::module_param::KernelParam::new(kernel::bindings::kernel_param {
                    name: kernel::str::as_char_ptr_in_const_context(if cfg!(MODULE) {
                        kernel::c_str!(stringify!($name))
                    } else {
                        kernel::c_str!(concat!("netoops.", stringify!($name)))
                    }),
                    // `__this_module` is set up by the kernel at load time and lives until the
                    // module is unloaded; only its address is taken.
                    #[cfg(MODULE)]
                    mod_: (&raw const kernel::bindings::__this_module).cast_mut(),
                    #[cfg(not(MODULE))]
                    mod_: core::ptr::null_mut(),
                    // SAFETY: only the address of the kernel's string parameter ops is taken.
                    ops: unsafe { core::ptr::from_ref(&kernel::bindings::param_ops_string) },
                    perm: 0,
                    level: -1,
                    flags: 0,
                    __bindgen_anon_1: kernel::bindings::kernel_param__bindgen_ty_1 {
                        str_: core::ptr::from_ref(&KPS.0),
                    },
                });

            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARMTYPE: [u8; concat!("parmtype=", stringify!($name), ":string\0").len()] =
                $crate::param_string::to_array(concat!(
                    "parmtype=",
                    stringify!($name),
                    ":string\0"
                ));

            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM: [u8; concat!("parm=", stringify!($name), ":", $desc, "\0").len()] =
                $crate::param_string::to_array(concat!(
                    "parm=",
                    stringify!($name),
                    ":",
                    $desc,
                    "\0"
                ));
        };
    };
}
pub(crate) use string_param;

/// A string literal's bytes as an array (for `.modinfo` entries); `N` is its length.
pub(crate) const fn to_array<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut a = [0u8; N];
    let mut i = 0;
    while i < N && i < b.len() {
        a[i] = b[i];
        i += 1;
    }
    a
}
