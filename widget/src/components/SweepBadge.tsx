// A node of a sweep: the ×N badge (its copies; the swept values in the tooltip) and the summary of its copies' run.
import { useCanvas } from "../context";
import { fmtValue, useSweepSelect } from "../sweep";

const SEP = "\u0001";

export function SweepBadge({ nodeId }: { nodeId: string }) {
  const { model } = useCanvas();
  const key = useSweepSelect(model, (sweep, branch) => {
    const node = sweep?.nodes?.[nodeId];
    if (!node || node.copies <= 1) return "";
    const lines = node.swept
      ? [`Swept: ${node.copies} copies, one per branch`, ...Object.entries(node.values).map(([k, vs]) => `${k}: ${vs.map(fmtValue).join(", ")}`)]
      : [`${node.copies} copies, one per branch (downstream of a swept node)`];
    const config = branch !== null ? sweep?.branches?.[branch]?.config : undefined;
    if (config) lines.push(`Branch ${branch}: ${Object.entries(config).map(([k, v]) => `${k}=${fmtValue(v)}`).join(", ")}`);
    const text = branch !== null ? `#${branch}` : `×${node.copies}`;
    return [text, lines.join("\n"), node.swept ? "1" : ""].join(SEP);
  });
  if (!key) return null;
  const [text, title, swept] = key.split(SEP);
  return (
    <span className={`trc-badge trc-sweep-badge${swept ? " trc-sweep-swept" : ""}`} data-testid={`sweep-badge-${nodeId}`} title={title}>
      {text}
    </span>
  );
}

/** "4/6 done · 1 failed" under a swept node's title (all branches; nothing while one branch is shown). */
export function SweepSummary({ nodeId }: { nodeId: string }) {
  const { model } = useCanvas();
  const text = useSweepSelect(model, (sweep, branch) => {
    const node = sweep?.nodes?.[nodeId];
    if (!node || node.copies <= 1) return "";
    if (branch !== null) {
      const config = sweep?.branches?.[branch]?.config ?? {};
      const own = Object.keys(node.values);
      return own.map((k) => `${k.slice(nodeId.length + 1)}=${fmtValue(config[k])}`).join(", ") || `branch ${branch}`;
    }
    return node.message || "";
  });
  if (!text) return null;
  return (
    <div className="trc-sweep-sum" data-testid={`sweep-sum-${nodeId}`}>
      {text}
    </div>
  );
}
