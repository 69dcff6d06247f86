import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatClock, formatTick } from './format.ts';
import { WINDOW_SECONDS, type RateSeries } from './stats.ts';
import { CHART_COLORS, type Theme } from './theme.ts';

const HEIGHT = 220;

function columns(series: RateSeries): uPlot.AlignedData {
  return [series.time, series.published, series.delivered];
}

/** Publish and delivery rates over the last two minutes, scrolling once a second. */
export function RateChart({ series, theme }: { series: RateSeries; theme: Theme }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(series);

  // The chart is a canvas: colours are baked in, so a theme change rebuilds it.
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const colors = CHART_COLORS[theme];
    const axis = {
      stroke: colors.axis,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
      font: '12px system-ui, sans-serif',
    };
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 100),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: {
            time: true,
            range: (_self, _min, max) => {
              const end = Number.isFinite(max) ? max : Date.now() / 1000;
              return [end - WINDOW_SECONDS, end];
            },
          },
          y: {
            range: (_self, _min, max) => [0, Math.max(1, Number.isFinite(max) ? max * 1.15 : 1)],
          },
        },
        axes: [
          {
            ...axis,
            space: 70,
            values: (_self, ticks) => ticks.map((t) => formatClock(t * 1000).slice(0, 8)),
          },
          // A fixed gutter keeps the plot from shifting when labels grow from "8" to "8,000".
          {
            ...axis,
            size: 64,
            values: (_self, ticks) => ticks.map(formatTick),
          },
        ],
        series: [
          {},
          {
            label: 'published/s',
            stroke: colors.published,
            fill: colors.publishedFill,
            width: 2,
            points: { show: false },
          },
          { label: 'delivered/s', stroke: colors.delivered, width: 2, points: { show: false } },
        ],
      },
      columns(latest.current),
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(element.clientWidth, 100), height: HEIGHT });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [theme]);

  useEffect(() => {
    latest.current = series;
    plot.current?.setData(columns(series));
  }, [series]);

  return (
    <div
      className="chart"
      ref={host}
      style={{ height: HEIGHT }}
      role="img"
      aria-label="Publish and delivery rates, last two minutes"
      // What the canvas draws, readable by tests and assistive tools: samples, and those with traffic.
      data-points={series.time.length}
      data-active-points={series.published.filter((v) => v !== null && v > 0).length}
    />
  );
}
