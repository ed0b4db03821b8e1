// Command lines of the lab's host-side programs: `--name value` options taken
// out of the argument list, so that what is left can be checked for strays.

/** The value after `name` in `args` (both removed from it), or undefined. */
export function takeOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

/** Whether the flag `name` is in `args` (removed from it). */
export function takeFlag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
}
