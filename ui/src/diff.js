// A line diff (longest common subsequence) for comparing two exchanges.
// Inputs are bounded so the table stays small: past MAX_LINES a side is cut.

const MAX_LINES = 1500;

/** [{op: ' '|'-'|'+', text}] turning `a` into `b`. */
export function diffLines(aText, bText) {
  const a = aText.split('\n').slice(0, MAX_LINES);
  const b = bText.split('\n').slice(0, MAX_LINES);
  // Common head and tail first: most compared bodies differ in a few lines.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const n = am.length;
  const m = bm.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = am[i] === bm[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = a.slice(0, head).map((text) => ({ op: ' ', text }));
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (am[i] === bm[j]) {
      out.push({ op: ' ', text: am[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: '-', text: am[i++] });
    else out.push({ op: '+', text: bm[j++] });
  }
  while (i < n) out.push({ op: '-', text: am[i++] });
  while (j < m) out.push({ op: '+', text: bm[j++] });
  for (const text of a.slice(a.length - tail)) out.push({ op: ' ', text });
  return out;
}

/** Header maps side by side: every name with both values and whether they differ. */
export function diffHeaders(a = {}, b = {}) {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.map((name) => ({ name, a: a[name], b: b[name], same: a[name] === b[name] }));
}
