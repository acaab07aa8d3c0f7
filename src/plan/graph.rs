//! The dependency graph of a task list: cycles, waves, a stable topological order, bounded
//! reachability.
//!
//! Nodes are positions `0..n`; `deps[u]` lists the positions `u` depends on (deduplicated, all
//! `< n`). Every algorithm here is iterative and linear or `O((n + e) log n)`: a 10 000-task
//! chain must neither overflow the stack (no recursion) nor go quadratic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Up to `max` dependency cycles, each as its path `a, b, …, a` (a depends on b …).
///
/// Iterative depth-first search with three colours; a cycle is reported when an edge reaches
/// a node that is still on the search stack (each such back edge yields one cycle, so every
/// strongly connected part with a cycle is reported at least once).
pub fn find_cycles(deps: &[Vec<usize>], max: usize) -> Vec<Vec<usize>> {
    const WHITE: u8 = 0;
    const GRAY: u8 = 1;
    const BLACK: u8 = 2;
    let n = deps.len();
    let mut colour = vec![WHITE; n];
    let mut pos = vec![usize::MAX; n];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut cycles = Vec::new();
    for root in 0..n {
        if colour[root] != WHITE {
            continue;
        }
        colour[root] = GRAY;
        pos[root] = 0;
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let u = top.0;
            if let Some(&v) = deps[u].get(top.1) {
                top.1 += 1;
                match colour[v] {
                    WHITE => {
                        colour[v] = GRAY;
                        pos[v] = stack.len();
                        stack.push((v, 0));
                    }
                    GRAY if cycles.len() < max => {
                        let mut path: Vec<usize> =
                            stack[pos[v]..].iter().map(|(x, _)| *x).collect();
                        path.push(v);
                        cycles.push(path);
                    }
                    _ => {}
                }
            } else {
                colour[u] = BLACK;
                pos[u] = usize::MAX;
                stack.pop();
            }
        }
    }
    cycles
}

/// Tasks grouped into waves: wave 0 depends on nothing, wave k only on earlier waves; each
/// wave in list order. `None` when there is a cycle. (Kahn's algorithm, layer by layer.)
pub fn waves(deps: &[Vec<usize>]) -> Option<Vec<Vec<usize>>> {
    let n = deps.len();
    let (mut remaining, dependents) = reverse(deps);
    let mut current: Vec<usize> = (0..n).filter(|u| remaining[*u] == 0).collect();
    let mut out = Vec::new();
    let mut done = 0;
    while !current.is_empty() {
        done += current.len();
        let mut next = Vec::new();
        for &v in &current {
            for &w in &dependents[v] {
                remaining[w] -= 1;
                if remaining[w] == 0 {
                    next.push(w);
                }
            }
        }
        next.sort_unstable();
        out.push(std::mem::take(&mut current));
        current = next;
    }
    (done == n).then_some(out)
}

/// An order in which every task comes after its dependencies, as close to the list order as
/// possible (always the smallest ready position next). `None` when there is a cycle.
pub fn stable_order(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    let n = deps.len();
    let (mut remaining, dependents) = reverse(deps);
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|u| remaining[*u] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(v)) = ready.pop() {
        order.push(v);
        for &w in &dependents[v] {
            remaining[w] -= 1;
            if remaining[w] == 0 {
                ready.push(Reverse(w));
            }
        }
    }
    (order.len() == n).then_some(order)
}

fn reverse(deps: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut dependents = vec![Vec::new(); deps.len()];
    for (u, ds) in deps.iter().enumerate() {
        for &v in ds {
            dependents[v].push(u);
        }
    }
    (deps.iter().map(Vec::len).collect(), dependents)
}

/// Reusable scratch space for [`Reach::depends_on`].
pub struct Reach {
    stamp: Vec<u32>,
    epoch: u32,
    queue: Vec<usize>,
}

impl Reach {
    pub fn new(n: usize) -> Reach {
        Reach {
            stamp: vec![0; n],
            epoch: 0,
            queue: Vec::new(),
        }
    }

    /// Whether `from` depends on `target` directly or through others, visiting at most
    /// `budget` tasks. `None`: the budget ran out before an answer (treated as "not
    /// declared" by callers — a bounded check cannot turn a long chain into quadratic work).
    pub fn depends_on(
        &mut self,
        deps: &[Vec<usize>],
        from: usize,
        target: usize,
        budget: usize,
    ) -> Option<bool> {
        if deps[from].contains(&target) {
            return Some(true);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
        self.queue.clear();
        self.queue.push(from);
        self.stamp[from] = self.epoch;
        let mut head = 0;
        while head < self.queue.len() {
            if head >= budget {
                return None;
            }
            let u = self.queue[head];
            head += 1;
            for &v in &deps[u] {
                if v == target {
                    return Some(true);
                }
                if self.stamp[v] != self.epoch {
                    self.stamp[v] = self.epoch;
                    self.queue.push(v);
                }
            }
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_with_paths() {
        // 0 → 1 → 2 → 0, 3 → 3
        let deps = vec![vec![1], vec![2], vec![0], vec![3]];
        let c = find_cycles(&deps, 10);
        assert_eq!(c, vec![vec![0, 1, 2, 0], vec![3, 3]]);
        assert!(waves(&deps).is_none());
        assert!(stable_order(&deps).is_none());
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let n = 200_000;
        let deps: Vec<Vec<usize>> = (0..n)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        assert!(find_cycles(&deps, 10).is_empty());
        assert_eq!(waves(&deps).map(|w| w.len()), Some(n));
        let mut cyclic = deps.clone();
        cyclic[0] = vec![n - 1];
        assert_eq!(find_cycles(&cyclic, 10)[0].len(), n + 1);
    }

    #[test]
    fn waves_and_stable_order() {
        // 2 depends on 0 and 1; 1 depends on 3 (forward).
        let deps = vec![vec![], vec![3], vec![0, 1], vec![]];
        assert_eq!(waves(&deps), Some(vec![vec![0, 3], vec![1], vec![2]]));
        assert_eq!(stable_order(&deps), Some(vec![0, 3, 1, 2]));
    }

    #[test]
    fn bounded_reachability() {
        let deps: Vec<Vec<usize>> = (0..100)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        let mut r = Reach::new(100);
        assert_eq!(r.depends_on(&deps, 99, 98, 5), Some(true));
        assert_eq!(r.depends_on(&deps, 99, 0, 1000), Some(true));
        assert_eq!(r.depends_on(&deps, 99, 0, 10), None);
        assert_eq!(r.depends_on(&deps, 5, 50, 1000), Some(false));
    }
}
