//! The report's tables of decisions and products: guardrail decisions by
//! rule per policy (mean over seeds), and every product's outcome per policy
//! for the first seed, sortable by any column (a few lines of inline script:
//! the page stays one self-contained file).

use std::collections::{BTreeMap, BTreeSet};

use crate::compare::Finished;
use crate::report::esc;

/// Decisions by the rule that settled them, per policy, mean over seeds.
pub(crate) fn guardrails(finished: &[Finished]) -> String {
    let mut policies: Vec<String> = Vec::new();
    let mut sums: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut rules = BTreeSet::new();
    for f in finished {
        let name = f.policy.name();
        if !policies.contains(&name) {
            policies.push(name.clone());
        }
        for (rule, n) in &f.result.summary.decisions {
            rules.insert(rule.clone());
            let e = sums.entry((name.clone(), rule.clone())).or_default();
            e.0 += n;
        }
    }
    let seeds = |p: &str| finished.iter().filter(|f| f.policy.name() == p).count() as f64;
    let mut out = String::from(
        "<h2 id=\"guardrails\">Guardrail decisions by rule</h2>\
         <p>Decisions per run (mean over seeds) by the rule that settled them: \
         <code>model</code> is the policy's own price, the others are guardrails \
         that changed or held it (see the audit log for each one).</p>\
         <table class=\"guardrails\"><tr><th>policy</th>",
    );
    for r in &rules {
        out += &format!("<th>{}</th>", esc(r));
    }
    out += "</tr>";
    for p in &policies {
        out += &format!("<tr><td>{}</td>", esc(p));
        for r in &rules {
            let n = sums.get(&(p.clone(), r.clone())).map_or(0, |e| e.0);
            out += &format!("<td>{:.0}</td>", n as f64 / seeds(p).max(1.0));
        }
        out += "</tr>";
    }
    out + "</table>"
}

/// Every product under every recorded policy (first seed), sortable.
pub(crate) fn products(recorded: &[&Finished]) -> String {
    let Some(first) = recorded.first() else {
        return String::new();
    };
    let mut out = format!(
        "<h2 id=\"products\">Products</h2><p>Every product under each policy, seed {} \
         (click a column to sort).</p><details><summary>{} products × {} policies</summary>\
         <table class=\"sortable\" id=\"product-table\"><thead><tr><th>product</th><th>policy</th>\
         <th>units</th><th>revenue</th><th>profit</th><th>price changes</th>\
         <th>missed (no stock)</th><th>sold out (h from start)</th></tr></thead><tbody>",
        first.seed,
        first.result.products.len(),
        recorded.len()
    );
    for f in recorded {
        let mut changes: BTreeMap<&str, u64> = BTreeMap::new();
        for c in &f.result.changes {
            *changes.entry(c.product_id.as_str()).or_default() += 1;
        }
        let policy = esc(&f.policy.name());
        for p in &f.result.products {
            out += &format!(
                "<tr><td>{}</td><td>{policy}</td><td>{}</td><td>{:.0}</td><td>{:.0}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.product_id),
                p.units,
                p.revenue,
                p.profit,
                changes.get(p.product_id.as_str()).copied().unwrap_or(0),
                p.missed,
                p.sold_out_after_hours
                    .map_or(String::new(), |h| format!("{h:.1}")),
            );
        }
    }
    out + "</tbody></table></details>" + SORT_SCRIPT
}

/// Click a header to sort its table by that column (numbers as numbers).
const SORT_SCRIPT: &str = "<script>\
document.querySelectorAll('table.sortable th').forEach((th, col) => {\
 th.style.cursor = 'pointer';\
 th.addEventListener('click', () => {\
  const body = th.closest('table').tBodies[0];\
  const rows = Array.from(body.rows);\
  const down = th.dataset.down !== '1'; th.dataset.down = down ? '1' : '0';\
  const key = r => { const t = r.cells[col].textContent; const n = parseFloat(t); return isNaN(n) ? t : n; };\
  rows.sort((a, b) => { const x = key(a), y = key(b); const c = x < y ? -1 : x > y ? 1 : 0; return down ? -c : c; });\
  rows.forEach(r => body.appendChild(r));\
 });\
});\
</script>";
