// An edge labelled with its output name. Labels are HTML (no SVG text measuring per edge); on big
// graphs they are only drawn when the zoom makes them readable, so zoomed out they cost nothing.
import { memo } from "react";
import { BaseEdge, EdgeLabelRenderer, getBezierPath, useStore, type EdgeProps } from "@xyflow/react";
import { useCanvas } from "../context";

const LABEL_ZOOM = 0.45;
const readable = (s: { transform: [number, number, number] }) => s.transform[2] >= LABEL_ZOOM;

function LabelledEdgeView(props: EdgeProps) {
  const [path, labelX, labelY] = getBezierPath(props);
  const { big } = useCanvas();
  const showLabel = useStore(readable) || !big;
  return (
    <>
      <BaseEdge id={props.id} path={path} markerEnd={props.markerEnd} style={props.style} interactionWidth={props.interactionWidth} />
      {showLabel && props.label ? (
        <EdgeLabelRenderer>
          <div
            className={`trc-edge-label${props.selected ? " trc-edge-label-on" : ""}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          >
            {props.label}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

export const LabelledEdge = memo(LabelledEdgeView);
