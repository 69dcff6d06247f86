import { useCallback, useEffect, useState } from 'react';

/** The user's choice; `auto` follows `prefers-color-scheme`. */
export type ThemeChoice = 'auto' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

const STORAGE_KEY = 'herald.dashboard.theme';
const ORDER: ThemeChoice[] = ['auto', 'light', 'dark'];

function storedChoice(): ThemeChoice {
  try {
    const value = window.localStorage.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : 'auto';
  } catch {
    return 'auto';
  }
}

/** The stylesheet reads `data-theme`; without it, the media query decides. */
export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === 'auto') delete root.dataset.theme;
  else root.dataset.theme = choice;
}

/** Applies the stored choice before the first render, so the page does not flash. */
export function applyStoredTheme(): void {
  applyTheme(storedChoice());
}

const systemDark = () => window.matchMedia('(prefers-color-scheme: dark)').matches;

/** Current choice, the theme actually shown, and a toggle that cycles auto → light → dark. */
export function useTheme(): { choice: ThemeChoice; theme: Theme; cycle: () => void } {
  const [choice, setChoice] = useState<ThemeChoice>(storedChoice);
  const [dark, setDark] = useState(systemDark);

  useEffect(() => {
    const query = window.matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => setDark(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);

  const cycle = useCallback(() => {
    const next = ORDER[(ORDER.indexOf(choice) + 1) % ORDER.length] ?? 'auto';
    applyTheme(next);
    try {
      if (next === 'auto') window.localStorage.removeItem(STORAGE_KEY);
      else window.localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // Storage may be disabled; the choice then lasts for this page only.
    }
    setChoice(next);
  }, [choice]);

  return { choice, theme: choice === 'auto' ? (dark ? 'dark' : 'light') : choice, cycle };
}

/** Canvas colours for the chart, which cannot read CSS variables by itself. */
export const CHART_COLORS: Record<
  Theme,
  { axis: string; grid: string; published: string; publishedFill: string; delivered: string }
> = {
  light: {
    axis: '#5b6472',
    grid: 'rgba(15, 23, 42, 0.08)',
    published: '#2563eb',
    publishedFill: 'rgba(37, 99, 235, 0.10)',
    delivered: '#d97706',
  },
  dark: {
    axis: '#9aa4b2',
    grid: 'rgba(226, 232, 240, 0.10)',
    published: '#60a5fa',
    publishedFill: 'rgba(96, 165, 250, 0.14)',
    delivered: '#fbbf24',
  },
};
