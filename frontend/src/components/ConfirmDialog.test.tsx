// @vitest-environment jsdom
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, test, vi } from "vitest";
import { ConfirmDialog, type ConfirmDialogProps } from "./ConfirmDialog";

function renderDialog(props: Partial<ConfirmDialogProps> = {}) {
  const onConfirm = vi.fn();
  const onCancel = vi.fn();
  render(
    <ConfirmDialog title="Invalidate 130 keys?" actionLabel="Invalidate" onConfirm={onConfirm} onCancel={onCancel} {...props}>
      <p>130 keys will be removed.</p>
    </ConfirmDialog>,
  );
  return { onConfirm, onCancel, action: screen.getByRole("button", { name: /^(Invalidate|Working…)$/ }) };
}

describe("ConfirmDialog", () => {
  test("is a labelled modal dialog showing what will happen", () => {
    renderDialog();
    const dialog = screen.getByRole("dialog", { name: /Invalidate 130 keys\?/ });
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    expect(dialog.textContent).toContain("130 keys will be removed.");
  });

  test("without a phrase the action is enabled and focused, and Enter confirms", async () => {
    const user = userEvent.setup();
    const { onConfirm, action } = renderDialog();
    expect(screen.queryByLabelText("Confirmation")).toBeNull();
    expect((action as HTMLButtonElement).disabled).toBe(false);
    expect(document.activeElement).toBe(action);
    await user.keyboard("{Enter}");
    expect(onConfirm).toHaveBeenCalledTimes(1);
  });

  test("with a phrase the action stays disabled until the typed text matches", async () => {
    const user = userEvent.setup();
    const { onConfirm, action } = renderDialog({ phrase: "130" });
    const field = screen.getByLabelText("Confirmation");
    expect(screen.getByText(/to confirm/).textContent).toBe("Type 130 to confirm");
    expect(document.activeElement).toBe(field);
    expect((action as HTMLButtonElement).disabled).toBe(true);

    await user.type(field, "13");
    expect((action as HTMLButtonElement).disabled).toBe(true);
    // Enter in the field does not get past a wrong phrase.
    await user.keyboard("{Enter}");
    await user.click(action);
    expect(onConfirm).not.toHaveBeenCalled();

    await user.type(field, "0");
    expect((action as HTMLButtonElement).disabled).toBe(false);
    await user.type(field, "0");
    expect((action as HTMLButtonElement).disabled).toBe(true); // "1300" is not the count

    await user.clear(field);
    await user.type(field, " 1,30 "); // separators and surrounding spaces are forgiven
    expect((action as HTMLButtonElement).disabled).toBe(false);
    await user.click(action);
    expect(onConfirm).toHaveBeenCalledTimes(1);
  });

  test("a word phrase matches regardless of case", async () => {
    const user = userEvent.setup();
    const { onConfirm } = renderDialog({ phrase: "everything" });
    await user.type(screen.getByLabelText("Confirmation"), "Everything{Enter}");
    expect(onConfirm).toHaveBeenCalledTimes(1);
  });

  test("Esc cancels, from anywhere in the page", async () => {
    const user = userEvent.setup();
    const { onCancel, onConfirm } = renderDialog({ phrase: "130" });
    await user.type(screen.getByLabelText("Confirmation"), "130");
    await user.keyboard("{Escape}");
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(onConfirm).not.toHaveBeenCalled();
  });

  test("Cancel cancels", async () => {
    const user = userEvent.setup();
    const { onCancel } = renderDialog();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onCancel).toHaveBeenCalledTimes(1);
  });

  test("while busy it can be neither cancelled nor confirmed again", async () => {
    const user = userEvent.setup();
    const { onCancel, onConfirm } = renderDialog({ busy: true });
    const working = screen.getByRole("button", { name: "Working…" });
    expect((working as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole("button", { name: "Cancel" }) as HTMLButtonElement).disabled).toBe(true);
    await user.keyboard("{Escape}");
    await user.click(working);
    expect(onCancel).not.toHaveBeenCalled();
    expect(onConfirm).not.toHaveBeenCalled();
  });
});
