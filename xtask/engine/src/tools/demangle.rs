//! Rust symbol demangling, for every tool whose output still carries mangled
//! names: perf's leftovers in folded stacks, heaptrack 1.4's v0 (`_R…`) and
//! legacy `$LT$` names, massif, memcheck and Instruments.

#[cfg(test)]
/// Demangles one whole symbol: v0 (`_RNv…`), legacy (`_ZN…E`), or a legacy
/// name that a C++ demangler already split into a path but left with Rust's
/// `$LT$`-style escapes and `::h<hash>` suffix (as heaptrack and Apple's
/// tools print them). Anything else is returned unchanged.
pub fn demangle(name: &str) -> String {
    symbol(name).unwrap_or_else(|| name.to_string())
}

/// Demangles every Rust symbol found inside a line of text, leaving the rest
/// of the line (addresses, file names, C and C++ names) as it was.
pub fn demangle_in_text(text: &str) -> String {
    if !text.contains("_R") && !text.contains("ZN") && !text.contains("::") {
        return text.to_string();
    }
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.' | ':');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(is_token_char).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let token = &rest[..end];
        // Keep trailing `:`/`.` punctuation (`0x12AB:`, `name.`) out of the symbol.
        let core = token.trim_end_matches([':', '.']);
        match symbol(core) {
            Some(demangled) => {
                out.push_str(&demangled);
                out.push_str(&token[core.len()..]);
            }
            None => out.push_str(token),
        }
        rest = &rest[end..];
    }
    out
}

/// A Rust symbol demangled, or `None` when `token` is not one.
pub fn symbol(token: &str) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    let mangled_prefix = ["_R", "__R", "_ZN", "__ZN", "ZN"]
        .iter()
        .any(|p| token.starts_with(p));
    if mangled_prefix && !token.contains("::") {
        if let Ok(d) = rustc_demangle::try_demangle(token) {
            return Some(format!("{d:#}"));
        }
        return None;
    }
    if token.contains("::") {
        return demangle_legacy_path(token);
    }
    None
}

/// `alloc::raw_vec::RawVecInner$LT$A$GT$::finish_grow::h8abd4f11b3038a7c`
/// → `alloc::raw_vec::RawVecInner<A>::finish_grow`, by mangling the path
/// back into `_ZN…E` form and letting `rustc-demangle` undo it.
fn demangle_legacy_path(path: &str) -> Option<String> {
    let (path, llvm_suffix) = match path.find(".llvm.") {
        Some(i) => (&path[..i], true),
        None => (path, false),
    };
    let segments: Vec<&str> = path.split("::").collect();
    if segments.len() < 2 || segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let last = segments[segments.len() - 1];
    let has_hash = last.len() == 17
        && last.starts_with('h')
        && last[1..].chars().all(|c| c.is_ascii_hexdigit());
    let escaped = path.contains('$') || path.contains("..");
    if !has_hash && !escaped && !llvm_suffix {
        return None;
    }
    let mut mangled = String::from("_ZN");
    for segment in &segments {
        mangled.push_str(&segment.len().to_string());
        mangled.push_str(segment);
    }
    mangled.push('E');
    let demangled = rustc_demangle::try_demangle(&mangled).ok()?;
    Some(format!("{demangled:#}"))
}

/// Demangles every `;`-separated frame that is still a mangled Rust name.
pub fn demangle_stack(stack: &str) -> String {
    if !stack.contains("_ZN") && !stack.contains("_R") {
        return stack.to_string();
    }
    stack
        .split(';')
        .map(demangle_frame)
        .collect::<Vec<_>>()
        .join(";")
}

/// One frame of a folded stack demangled (`_[i]`-style suffixes kept), with
/// any `;` inside it written `:`.
pub fn demangle_frame(frame: &str) -> String {
    // A frame may carry a suffix such as `_[i]` (inlined) or `_[k]`.
    let (name, suffix) = match frame.find("_[") {
        Some(i) if frame.ends_with(']') => frame.split_at(i),
        _ => (frame, ""),
    };
    match symbol(name) {
        // `[u8; 4]` in a name would split the frame in a folded stack:
        // perf and stackcollapse-perf write `[u8: 4]`, and so do we.
        Some(demangled) => format!("{}{suffix}", demangled.replace(';', ":")),
        None => frame.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demangled_array_type_does_not_split_its_frame() {
        // <core::ptr::non_null::NonNull<[u8; 4]>>::read, v0 mangling.
        let v0 = "_RNvMNtNtCs1234_4core3ptr8non_nullINtB2_7NonNullAhj4_E4readCs1234_5xtask";
        let stack = format!("main;{v0};leaf");
        let demangled = demangle_stack(&stack);
        assert_eq!(demangled.split(';').count(), 3, "{demangled}");
        assert!(demangled.contains("[u8: 4]"), "{demangled}");
    }

    #[test]
    fn demangles_v0_legacy_and_half_demangled_names() {
        assert_eq!(
            demangle("_RNvNtCslNYArtu3iFV_5alloc5alloc5alloc"),
            "alloc::alloc::alloc"
        );
        assert_eq!(
            demangle("_ZN8cdr_demo8generate6tariff17h0123456789abcdefE"),
            "cdr_demo::generate::tariff"
        );
        assert_eq!(
            demangle("alloc::raw_vec::RawVecInner$LT$A$GT$::finish_grow::h8abd4f11b3038a7c"),
            "alloc::raw_vec::RawVecInner<A>::finish_grow"
        );
        assert_eq!(
            demangle("cdr_demo::generate::run::_$u7b$$u7b$closure$u7d$$u7d$::h105a4dc7a1bb0286"),
            "cdr_demo::generate::run::{{closure}}"
        );
        assert_eq!(
            demangle("_$LT$core..panic..unwind_safe..AssertUnwindSafe$LT$F$GT$$u20$as$u20$core..ops..function..FnOnce$LT$$LP$$RP$$GT$$GT$::call_once::h25ac0caff76b4d2f"),
            "<core::panic::unwind_safe::AssertUnwindSafe<F> as core::ops::function::FnOnce<()>>::call_once"
        );
        // Already readable names, C names and C++ names stay as they are.
        for plain in [
            "main",
            "start_thread",
            "operator new(unsigned long)",
            "<alloc::string::String as core::fmt::Write>::write_str",
            "std::vector<int>::push_back(int const&)",
            "0x7f069f8a57b9",
        ] {
            assert_eq!(demangle_in_text(plain), plain);
        }
    }

    #[test]
    fn demangles_leftover_rust_names() {
        assert_eq!(
            demangle_stack("cdr-demo;_ZN8cdr_demo8generate6tariff17h0123456789abcdefE;_RNvCs1234_7mycrate4main_[i]"),
            "cdr-demo;cdr_demo::generate::tariff;mycrate::main_[i]"
        );
        assert_eq!(demangle_stack("main;foo"), "main;foo");
    }

    #[test]
    fn demangles_symbols_inside_lines() {
        assert_eq!(
            demangle_in_text("main;_RNvNtCsjrHSEGnQ3l9_3std2rt4init (rt.rs);cdr_demo::main::h03b88912bc406f9c (main.rs);"),
            "main;std::rt::init (rt.rs);cdr_demo::main (main.rs);"
        );
        assert_eq!(
            demangle_in_text("0x100b73f40 _ZN8cdr_demo4main17h0123456789abcdefE + 40  main.rs:10"),
            "0x100b73f40 cdr_demo::main + 40  main.rs:10"
        );
        // A legacy symbol carrying LLVM's suffix.
        assert_eq!(
            demangle_in_text("cdr_demo::generate::leak::h0123456789abcdef.llvm.42"),
            "cdr_demo::generate::leak"
        );
    }
}
