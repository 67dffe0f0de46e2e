import assert from "node:assert/strict";
import {
  barChart,
  escapeXml,
  formatTick,
  linearAxis,
  lineChart,
  logAxis,
  panelRow,
  reliabilityDiagram,
  xmlProblem,
} from "../../lib/eval/figures.ts";

/** Well-formed, and none of the strings a bad number turns into. */
function assertCleanSvg(svg: string): void {
  assert.equal(xmlProblem(svg), null, "the SVG is not well formed");
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  for (const bad of ["NaN", "Infinity", "undefined", "null", "[object"]) {
    assert.ok(!svg.includes(bad), `the SVG contains "${bad}"`);
  }
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

Deno.test("xmlProblem accepts well-formed documents", () => {
  assert.equal(
    xmlProblem(`<?xml version="1.0"?>\n<svg a="1" b='2'><g/><t>x &amp; y &#916;</t></svg>\n`),
    null,
  );
  assert.equal(xmlProblem("<!-- c --><svg><!-- <not a tag> --></svg>"), null);
});

Deno.test("xmlProblem finds what breaks XML", () => {
  const bad: [string, RegExp][] = [
    ["<svg><g></svg>", /does not match <g>/],
    ["<svg><g>", /unclosed <g>/],
    ["<svg></g></svg>", /does not match <svg>/],
    ["</svg>", /without an opening tag/],
    ["<svg>a & b</svg>", /stray "&"/],
    ['<svg a="x & y"/>', /stray "&"/],
    ["<svg a=1/>", /bad attribute/],
    ['<svg a="1" a="2"/>', /duplicate attribute a/],
    ["<svg/><svg/>", /second root/],
    ["text<svg/>", /outside the root/],
    ["<svg><!-- x</svg>", /unterminated comment/],
    ["<svg><1/></svg>", /bad tag name/],
    ['<svg a="<"/>', /bad attribute/],
    ["", /no root/],
  ];
  for (const [text, want] of bad) {
    const problem = xmlProblem(text);
    assert.ok(problem !== null && want.test(problem), `${text}: got ${problem}`);
  }
});

Deno.test("escapeXml and formatTick", () => {
  assert.equal(
    escapeXml(`<a href="x">&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;",
  );
  assert.equal(formatTick(0.1 + 0.2), "0.3");
  assert.equal(formatTick(0), "0");
  assert.equal(formatTick(-2.5), "-2.5");
  assert.equal(formatTick(5000), "5000");
  assert.equal(formatTick(20000), "20k");
  assert.equal(formatTick(1e-7), "1e-7");
});

Deno.test("linear axis: nice ticks that contain the data, degenerate ranges widened", () => {
  assert.deepEqual(linearAxis([0.13, 0.87]).ticks, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(linearAxis([0.05, 0.95]).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(linearAxis([79.04, 85]).ticks, [79, 80, 81, 82, 83, 84, 85]);
  const flat = linearAxis([0.5, 0.5, 0.5]);
  assert.ok(flat.lo < 0.5 && flat.hi > 0.5, `flat axis ${flat.lo}..${flat.hi}`);
  const zero = linearAxis([0]);
  assert.ok(zero.lo < 0 && zero.hi > 0);
  assert.deepEqual(linearAxis([]).ticks.slice(0, 1), [0]);
  // One epoch: integer ticks around it.
  assert.deepEqual(linearAxis([1], true).ticks, [0, 1, 2]);
  assert.ok(linearAxis([1, 30], true).ticks.every(Number.isInteger));
});

Deno.test("log axis: 1-2-5 ticks over the long tail's counts, decades over a wide range", () => {
  const a = logAxis([5980, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]);
  assert.deepEqual(a.ticks, [50, 100, 200, 500, 1000, 2000, 5000]);
  assert.ok(a.lo < 60 && a.hi > 5980);
  assert.deepEqual(logAxis([1, 1e6]).ticks, [1, 10, 100, 1000, 1e4, 1e5, 1e6]);
  const narrow = logAxis([100, 150]);
  assert.ok(
    narrow.ticks.length >= 2 && narrow.ticks.every((t) => t >= narrow.lo && t <= narrow.hi),
  );
  const one = logAxis([300]);
  assert.ok(one.lo < 300 && one.hi > 300);
  assert.ok(logAxis([0, -5]).lo > 0, "no positive value falls back to a valid range");
});

Deno.test("lineChart draws titles, labels, legend and escapes text", () => {
  const svg = lineChart({
    title: "Acc <vs> count & more",
    xLabel: "training images",
    yLabel: "accuracy (%)",
    xScale: "log",
    series: [
      { label: "Joint", x: [60, 600, 6000], y: [70, 80, 95] },
      { label: `τ-norm "0.9"`, x: [60, 600, 6000], y: [80, 85, 92], dash: "6 3" },
    ],
  });
  assertCleanSvg(svg);
  assert.ok(svg.includes("<title>Acc &lt;vs&gt; count &amp; more</title>"));
  assert.ok(svg.includes(">training images</text>") && svg.includes(">accuracy (%)</text>"));
  assert.ok(svg.includes(">Joint</text>") && svg.includes(">τ-norm &quot;0.9&quot;</text>"));
  assert.ok(svg.includes('stroke-dasharray="6 3"'));
  assert.equal(count(svg, "<path"), 2);
  // Log scale: 60, 600 and 6000 are equally spaced.
  const cx = [...svg.matchAll(/<circle cx="([\d.]+)" cy="[\d.]+" r="3.5"\/>/g)].map((m) =>
    Number(m[1])
  );
  assert.equal(cx.length, 6);
  assert.ok(Math.abs((cx[1] - cx[0]) - (cx[2] - cx[1])) < 0.05, `spacing ${cx}`);
  for (const tick of ["100", "1000"]) assert.ok(svg.includes(`>${tick}</text>`));
});

Deno.test("lineChart: NaN, null and non-positive log x are gaps, not crashes", () => {
  const svg = lineChart({
    title: "gaps",
    xLabel: "x",
    yLabel: "y",
    series: [{ label: "a", x: [1, 2, 3, 4, 5], y: [1, NaN, 3, 4, null], style: "line" }],
  });
  assertCleanSvg(svg);
  // The lone first point becomes a circle; 3..4 is one path segment.
  assert.equal(count(svg, "<path"), 1);
  assert.equal(count(svg, 'r="3.5"'), 1);
  const log = lineChart({
    title: "log gaps",
    xLabel: "x",
    yLabel: "y",
    xScale: "log",
    series: [{ label: "a", x: [0, -1, 10, 100, Infinity], y: [1, 2, 3, 4, 5] }],
  });
  assertCleanSvg(log);
  assert.equal(count(log, 'r="3.5"'), 2, "data points (the legend's are r=3)");
});

Deno.test("lineChart: one point, all-equal values and no data at all", () => {
  const one = lineChart({
    title: "one epoch",
    xLabel: "epoch",
    yLabel: "loss",
    xInteger: true,
    series: [{ label: "loss", x: [1], y: [2.3] }],
  });
  assertCleanSvg(one);
  assert.equal(count(one, 'r="3.5"'), 1);
  assert.equal(count(one, "<path"), 0);
  const flat = lineChart({
    title: "flat",
    xLabel: "x",
    yLabel: "y",
    series: [{ label: "a", x: [5, 5, 5], y: [0.5, 0.5, 0.5] }, {
      label: "b",
      x: [1, 2],
      y: [0, 0],
    }],
  });
  assertCleanSvg(flat);
  const empty = lineChart({
    title: "empty",
    xLabel: "x",
    yLabel: "y",
    series: [{ label: "a", x: [1, 2], y: [NaN, NaN] }],
  });
  assertCleanSvg(empty);
  assert.ok(empty.includes(">no data</text>"));
  assertCleanSvg(lineChart({ title: "none", xLabel: "x", yLabel: "y", series: [] }));
});

Deno.test("lineChart markers: guide, ring at the point, label; yCap keeps 100 on top", () => {
  const svg = lineChart({
    title: "tau",
    xLabel: "τ",
    yLabel: "val (%)",
    yCap: 100,
    series: [{ label: "tau-norm", x: [0, 0.5, 1], y: [96, 100, 97] }],
    markers: [{ x: 0.5, y: 100, label: "chosen τ = 0.5" }, { x: NaN, label: "ignored" }],
  });
  assertCleanSvg(svg);
  assert.ok(svg.includes(">chosen τ = 0.5</text>"));
  assert.ok(!svg.includes("ignored"));
  assert.equal(count(svg, 'r="7"'), 1);
  assert.ok(svg.includes(">100</text>") && !svg.includes(">101</text>"));
  assert.ok(!svg.includes(">102</text>"));
});

Deno.test("barChart: grouped bars, gaps for missing values, negative bars, slanted labels", () => {
  const svg = barChart({
    title: "norms",
    xLabel: "class",
    yLabel: "‖w‖",
    categories: ["a", "b", "c"],
    series: [
      { label: "Joint", values: [1.5, 1.2, 0.9] },
      { label: "LWS", values: [1.1, null, NaN] },
      { label: "neg", values: [-0.5, 0, 0.2] },
    ],
  });
  assertCleanSvg(svg);
  // 1 background + 7 bars (two missing) + 3 legend swatches.
  assert.equal(count(svg, "<rect"), 1 + 7 + 3);
  assert.ok(svg.includes(">-0.5</text>") || svg.includes(">-1</text>"), "axis reaches below 0");
  assert.ok(!svg.includes("rotate(-40"), "short labels are not slanted");
  const long = barChart({
    title: "long",
    xLabel: "class",
    yLabel: "n",
    categories: Array.from({ length: 30 }, (_, i) => `a rather long class name ${i}`),
    series: [{ label: "x", values: Array.from({ length: 30 }, (_, i) => i) }],
  });
  assertCleanSvg(long);
  assert.ok(long.includes("rotate(-40"));
  assert.throws(
    () =>
      barChart({
        title: "t",
        xLabel: "x",
        yLabel: "y",
        categories: ["a", "b"],
        series: [{ label: "s", values: [1] }],
      }),
    { name: "RangeError", message: /series "s" has 1 values for 2 categories/ },
  );
  const empty = barChart({
    title: "e",
    xLabel: "x",
    yLabel: "y",
    categories: [],
    series: [],
  });
  assertCleanSvg(empty);
  assert.ok(empty.includes(">no data</text>"));
});

Deno.test("panelRow puts panels side by side in one document", () => {
  const a = lineChart({
    title: "A",
    xLabel: "x",
    yLabel: "y",
    width: 300,
    height: 200,
    legend: false,
    series: [{ label: "s", x: [1, 2], y: [1, 2] }],
  });
  const b = barChart({
    title: "B",
    xLabel: "x",
    yLabel: "y",
    width: 250,
    height: 260,
    categories: ["u"],
    series: [{ label: "s", values: [3] }],
  });
  const svg = panelRow("both", [a, b]);
  assertCleanSvg(svg);
  assert.ok(svg.includes('width="550" height="260"'));
  assert.equal(count(svg, "<svg"), 3);
  assert.ok(svg.includes('<svg x="300"'));
  assert.throws(() => panelRow("bad", ["<g/>"]), TypeError);
});

Deno.test("reliabilityDiagram: the diagonal, one curve per method, empty bins as gaps", () => {
  const svg = reliabilityDiagram("Reliability", [
    { label: "cRT", color: "#0072B2", confidence: [0.3, null, 0.9], accuracy: [0.2, null, 0.95] },
    { label: "Joint", confidence: [null, null, 0.8], accuracy: [null, null, 0.6] },
  ]);
  assert.equal(xmlProblem(svg), null);
  for (
    const text of ["perfect calibration", "cRT", "Joint", "#0072B2", "accuracy of the bin (%)"]
  ) {
    assert.ok(svg.includes(text), text);
  }
  assert.ok(!svg.includes("NaN"), "no NaN coordinates");
  // cRT: two points split by a gap (two lone circles, no path); Joint: one lone point.
  const crt = svg.split("<title>cRT</title>")[1].split("</g>")[0];
  assert.equal((crt.match(/<circle/g) ?? []).length, 2);
  assert.equal(crt.includes("<path"), false);
});
