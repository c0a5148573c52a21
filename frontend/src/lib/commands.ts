/** The command palette's matching: every word of the query must appear in the label or keywords. */

export interface Command {
  id: string;
  label: string;
  group: string;
  keywords?: string;
  run: () => void;
}

/** Commands matching `query` (case-insensitive, words in any order), labels starting with it first. */
export function filterCommands<C extends Pick<Command, "label" | "keywords">>(commands: readonly C[], query: string): C[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...commands];
  const q = query.trim().toLowerCase();
  return commands
    .filter((c) => {
      const hay = `${c.label} ${c.keywords ?? ""}`.toLowerCase();
      return words.every((w) => hay.includes(w));
    })
    .sort((a, b) => Number(b.label.toLowerCase().startsWith(q)) - Number(a.label.toLowerCase().startsWith(q)));
}
