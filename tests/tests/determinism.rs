//! Same seed, same machine: identical summary rows (its own test binary, so that no other test
//! touches libtorch's global random state meanwhile).

use w2s_tests::{env, registry, run, tiny_preset};

#[test]
fn same_seed_gives_identical_rows() {
    let (r, env) = (registry(), env());
    let p = tiny_preset(&["labeler=model"]);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut first = run(&p, &r, &env, a.path(), false).unwrap().rows;
    let mut second = run(&p, &r, &env, b.path(), true).unwrap().rows;
    for row in first.iter_mut().chain(second.iter_mut()) {
        row.seconds = 0.0;
    }
    // Debug text compares NaN (an undefined PGR) as equal to itself.
    assert_eq!(format!("{first:?}"), format!("{second:?}"));
    let other = run(&tiny_preset(&["labeler=model", "seeds=[1]"]), &r, &env, b.path(), false).unwrap().rows;
    assert_ne!(
        other[0].w2s_acc.to_bits() ^ other[0].weak_acc.to_bits(),
        first[0].w2s_acc.to_bits() ^ first[0].weak_acc.to_bits(),
        "another seed gives other numbers"
    );
}
