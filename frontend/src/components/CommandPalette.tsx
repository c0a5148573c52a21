import { useEffect, useMemo, useRef, useState } from "react";
import { useNavigate } from "react-router-dom";
import { LAB_SCENARIOS } from "../api/lab";
import { filterCommands, type Command } from "../lib/commands";
import { getSettings, updateSettings } from "../lib/settings";
import { PAGES } from "../routes";

/** Ctrl/Cmd+K: go anywhere, search keys, run a Lab scenario, switch theme or read-only mode. */
export function CommandPalette({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => input.current?.focus(), []);

  const commands = useMemo<Command[]>(() => {
    const go = (path: string) => () => navigate(path);
    const list: Command[] = [
      ...PAGES.flatMap((page) => [
        { id: page.path.slice(1), group: "Go to", label: page.label, keywords: page.keywords, run: go(page.path) },
        ...(page.views ?? []).map((view) => ({ id: view.id, group: "Go to", label: view.label, keywords: view.keywords, run: go(page.path + view.search) })),
      ]),
      ...LAB_SCENARIOS.map((s) => ({ id: `lab-${s}`, group: "Lab", label: `Lab: ${s}`, keywords: "scenario run", run: go(`/lab?scenario=${s}`) })),
      { id: "theme-dark", group: "Settings", label: "Theme: dark", keywords: "appearance", run: () => updateSettings({ theme: "dark" }) },
      { id: "theme-light", group: "Settings", label: "Theme: light", keywords: "appearance", run: () => updateSettings({ theme: "light" }) },
      {
        id: "read-only",
        group: "Settings",
        label: getSettings().readOnly ? "Read-only mode: off" : "Read-only mode: on",
        keywords: "safe lock",
        run: () => updateSettings({ readOnly: !getSettings().readOnly }),
      },
    ];
    if (query.trim()) {
      const q = query.trim();
      list.push({
        id: "search-keys",
        group: "Search",
        label: `Search keys matching "${q}"`,
        keywords: q,
        run: () => navigate(`/explorer?match=${encodeURIComponent(q.includes("*") ? q : `*${q}*`)}`),
      });
    }
    return list;
  }, [navigate, query]);

  const matches = filterCommands(commands, query);
  const selected = Math.min(active, Math.max(0, matches.length - 1));

  const run = (command: Command | undefined) => {
    if (!command) return;
    onClose();
    command.run();
  };

  return (
    <div className="fixed inset-0 z-50 flex items-start justify-center bg-black/40 px-4 pt-[15vh]" onMouseDown={onClose}>
      <div
        role="dialog"
        aria-modal="true"
        aria-label="Command palette"
        className="w-full max-w-lg overflow-hidden rounded-lg border border-line bg-panel shadow-xl"
        onMouseDown={(e) => e.stopPropagation()}
      >
        <input
          ref={input}
          aria-label="Command"
          role="combobox"
          aria-expanded="true"
          aria-controls="palette-list"
          aria-activedescendant={matches[selected] ? `cmd-${matches[selected].id}` : undefined}
          className="w-full border-b border-line bg-transparent px-4 py-3 text-sm outline-none"
          placeholder="Type a command, a page, or text to search keys…"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setActive((i) => Math.min(i + 1, matches.length - 1));
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              setActive((i) => Math.max(i - 1, 0));
            } else if (e.key === "Enter") {
              e.preventDefault();
              run(matches[selected]);
            } else if (e.key === "Escape") {
              e.preventDefault();
              onClose();
            }
          }}
        />
        <ul id="palette-list" role="listbox" aria-label="Commands" className="max-h-80 overflow-y-auto py-1">
          {matches.length === 0 && <li className="px-4 py-2 text-sm text-muted">No command matches.</li>}
          {matches.map((command, i) => (
            <li
              key={command.id}
              id={`cmd-${command.id}`}
              role="option"
              aria-selected={i === selected}
              className={`flex cursor-pointer items-center justify-between px-4 py-2 text-sm ${i === selected ? "bg-accent/10 text-accent" : ""}`}
              onMouseEnter={() => setActive(i)}
              onClick={() => run(command)}
            >
              <span>{command.label}</span>
              <span className={`text-xs ${i === selected ? "" : "text-muted"}`}>{command.group}</span>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
