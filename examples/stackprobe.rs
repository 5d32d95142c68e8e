//! Measures stack per nesting level for native recursion over deep script values.
//! Run: `cargo run --example stackprobe -- DEPTH [SHAPE]` (see `bmad::script::stack`).
#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    clippy::borrow_as_ptr
)]
#[global_allocator]
static A: bmad::script::CountingAllocator = bmad::script::CountingAllocator;

use rhai::Dynamic;

fn stack_low() -> usize {
    unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr());
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        addr as usize
    }
}

fn on_big<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (T, usize) {
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            let low = stack_low() + 4096 * 4;
            let m = 0u8;
            let here = std::ptr::from_ref(std::hint::black_box(&m)) as usize;
            let r = f();
            let mut p = low;
            while p < here && unsafe { std::ptr::read_volatile(p as *const u64) } == 0 {
                p += 8;
            }
            (r, here - p)
        })
        .unwrap()
        .join()
        .unwrap()
}

static KEEP: std::sync::Mutex<Vec<Dynamic>> = std::sync::Mutex::new(Vec::new());

fn main() {
    bmad::script::CountingAllocator::installed();
    let depth: usize = std::env::args()
        .nth(1)
        .map_or(20000, |s| s.parse().unwrap());
    let shapes = [
        (
            "closure",
            "let f = || 1; for i in 0..D { let g = f; f = || g.call(); } f",
        ),
        (
            "curry",
            "fn k(a, b) { a } let f = Fn(\"k\"); for i in 0..D { let g = f; f = Fn(\"k\").curry(g); } f",
        ),
        (
            "array-in-closure",
            "let a = []; for i in 0..D { let b = a; a = [|| b]; } a",
        ),
        (
            "map-in-closure",
            "let a = #{}; for i in 0..D { let b = a; a = #{f: || b}; } a",
        ),
        ("array", "let a = []; for i in 0..D { a = [a]; } a"),
        ("map", "let a = #{}; for i in 0..D { a = #{a: a}; } a"),
    ];
    let mut limits = bmad::script::Limits::default();
    limits.max_operations = u64::MAX / 2;
    limits.max_array = usize::MAX / 2;
    limits.max_map = usize::MAX / 2;
    limits.max_memory = usize::MAX / 4;
    limits.timeout = std::time::Duration::from_secs(600);
    for (name, code) in shapes
        .into_iter()
        .filter(|(n, _)| std::env::args().nth(2).map_or(true, |w| n.contains(&w)))
    {
        let depth = if name.contains("closure") {
            depth
        } else {
            depth / 8
        };
        let code = code.replace("D", &depth.to_string());
        let limits = limits.clone();
        let build = move || {
            let sandbox = bmad::script::Sandbox {
                limits: limits.clone(),
                ..Default::default()
            };
            let engine = bmad::script::engine(&sandbox);
            let ast = engine.compile(&code).unwrap();
            let before = bmad::script::memory::allocated_here();
            let v: Dynamic = engine.eval_ast(&ast).unwrap();
            let after = bmad::script::memory::allocated_here();
            (v, after - before)
        };
        let ((v, bytes), _) = on_big(build);
        let per = |s: usize| s as f64 / depth as f64;
        let v = std::sync::Arc::new(std::sync::Mutex::new(Some(v)));
        let ops: Vec<(&str, fn(&Dynamic) -> usize)> = vec![
            ("clone", |v| {
                let c = v.clone();
                KEEP.lock().unwrap().push(c);
                0
            }),
            ("display", |v| v.to_string().len()),
            ("debug", |v| format!("{v:?}").len()),
        ];
        let mut line = format!("{name:18} B/level {:7.1}", per(bytes as usize));
        for (op, f) in ops {
            let v2 = v.clone();
            let (_, s) = on_big(move || {
                let g = v2.lock().unwrap();
                f(g.as_ref().unwrap())
            });
            line += &format!("  {op} {:6.1}", per(s));
        }
        on_big(|| KEEP.lock().unwrap().clear());
        let v2 = v.clone();
        let (_, s) = on_big(move || drop(v2.lock().unwrap().take()));
        line += &format!("  drop {:6.1}", per(s));
        println!("{line}");
    }
}
