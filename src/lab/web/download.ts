/** Save text as a file the browser downloads (no server involved). */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Read a file the student picked. */
export function readPicked(input: HTMLInputElement): Promise<string | null> {
  const f = input.files?.[0];
  input.value = '';
  return f ? f.text() : Promise.resolve(null);
}
