//! The step graph: unknown `needs`, cycles (printed as the whole chain), execution order, the
//! steps downstream of a `--force`d one and the ancestors of a step.

use std::collections::HashMap;

use super::catalog::StepCatalog;
use super::diagnostic::{did_you_mean, Diagnostics};
use super::model::Step;
use super::node::{Node, Pos, Value};

/// Reports `needs` that name no step and every cycle. `items` are the step nodes, for positions.
pub fn check<C: StepCatalog>(steps: &[Step<C>], items: &[Node], diags: &mut Diagnostics) {
    // Ids of every step written in the file, including steps that failed validation, so a
    // typo in one step does not make `needs` pointing at it look unknown too.
    let ids: Vec<&str> = items
        .iter()
        .filter_map(|n| n.get("id").and_then(Node::as_str))
        .collect();
    for step in steps {
        for need in &step.needs {
            let pos = need_pos(items, &step.id, need);
            if need == &step.id {
                diags.push(pos, format!("step `{}`: `needs` names the step itself", step.id));
            } else if !ids.contains(&need.as_str()) {
                let hint = did_you_mean(need, ids.iter().copied());
                diags.push(
                    pos,
                    format!("step `{}`: `needs` names unknown step `{need}`{hint}", step.id),
                );
            }
        }
    }
    for cycle in cycles(steps) {
        let first = &steps[cycle[0]];
        let chain: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&cycle[0]))
            .map(|&i| steps[i].id.as_str())
            .collect();
        let pos = need_pos(items, &first.id, &steps[cycle[1 % cycle.len()]].id);
        diags.push(pos, format!("dependency cycle: {}", chain.join(" -> ")));
    }
}

/// Where `needs: [need]` of step `id` was written (falls back to the step itself).
fn need_pos(items: &[Node], id: &str, need: &str) -> Pos {
    let Some(step) = items.iter().find(|n| n.get("id").and_then(Node::as_str) == Some(id)) else {
        return Pos::default();
    };
    match step.get("needs") {
        Some(Node {
            value: Value::Seq(list),
            ..
        }) => list
            .iter()
            .find(|n| n.as_str() == Some(need))
            .map(|n| n.pos)
            .unwrap_or(step.pos),
        Some(n) => n.pos,
        None => step.pos,
    }
}

/// Each elementary cycle once, as step indices in dependency order (a needs b needs ... needs a).
fn cycles<C: StepCatalog>(steps: &[Step<C>]) -> Vec<Vec<usize>> {
    let index = |id: &str| steps.iter().position(|s| s.id == id);
    let edges: Vec<Vec<usize>> = steps
        .iter()
        .map(|s| {
            s.needs
                .iter()
                .filter(|n| **n != s.id)
                .filter_map(|n| index(n))
                .collect()
        })
        .collect();
    // Iterative DFS with colours; a back edge closes a cycle found on the current path.
    let mut colour = vec![0u8; steps.len()]; // 0 new, 1 on path, 2 done
    let mut found: Vec<Vec<usize>> = Vec::new();
    for start in 0..steps.len() {
        if colour[start] != 0 {
            continue;
        }
        let mut path: Vec<usize> = vec![start];
        let mut next_edge: Vec<usize> = vec![0];
        colour[start] = 1;
        while let Some(&node) = path.last() {
            let e = next_edge.last_mut().expect("path and next_edge grow together");
            if let Some(&to) = edges[node].get(*e) {
                *e += 1;
                match colour[to] {
                    0 => {
                        colour[to] = 1;
                        path.push(to);
                        next_edge.push(0);
                    }
                    1 => {
                        let from = path.iter().position(|&p| p == to).unwrap_or(0);
                        found.push(path[from..].to_vec());
                    }
                    _ => {}
                }
            } else {
                colour[node] = 2;
                path.pop();
                next_edge.pop();
            }
        }
    }
    found
}

/// Step indices so that every step comes after the steps it needs; ties keep file order.
/// Assumes `check` passed (no cycles, no unknown needs).
pub fn order<C: StepCatalog>(steps: &[Step<C>]) -> Vec<usize> {
    let mut done = vec![false; steps.len()];
    let mut out = Vec::with_capacity(steps.len());
    while out.len() < steps.len() {
        let ready = (0..steps.len()).find(|&i| {
            !done[i]
                && steps[i]
                    .needs
                    .iter()
                    .all(|n| steps.iter().position(|s| &s.id == n).is_none_or(|j| done[j]))
        });
        match ready {
            Some(i) => {
                done[i] = true;
                out.push(i);
            }
            None => break,
        }
    }
    out
}

/// Indices of all steps that (transitively) need step `i`.
pub fn downstream<C: StepCatalog>(steps: &[Step<C>], i: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let mut frontier = vec![i];
    while let Some(j) = frontier.pop() {
        for (k, s) in steps.iter().enumerate() {
            if s.needs.contains(&steps[j].id) && !out.contains(&k) {
                out.push(k);
                frontier.push(k);
            }
        }
    }
    out
}

/// Indices of the steps `--force` names, with everything downstream of them.
pub fn forced<C: StepCatalog>(steps: &[Step<C>], force: &[String]) -> Vec<usize> {
    if force.iter().any(|f| f == "*") {
        return (0..steps.len()).collect();
    }
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if force.contains(&s.id) {
            out.push(i);
            out.extend(downstream(steps, i));
        }
    }
    out
}

/// Every step that `i` depends on, with its distance (1 for direct needs), nearest first and
/// in `needs` order within a distance.
pub fn ancestors<C: StepCatalog>(steps: &[Step<C>], index_of: &HashMap<&str, usize>, i: usize) -> Vec<(usize, usize)> {
    let mut seen = vec![false; steps.len()];
    let mut out = Vec::new();
    let mut frontier = vec![i];
    let mut distance = 0;
    while !frontier.is_empty() {
        distance += 1;
        let mut next = Vec::new();
        for k in frontier {
            for need in &steps[k].needs {
                if let Some(&j) = index_of.get(need.as_str()) {
                    if !seen[j] {
                        seen[j] = true;
                        out.push((distance, j));
                        next.push(j);
                    }
                }
            }
        }
        frontier = next;
    }
    out
}
