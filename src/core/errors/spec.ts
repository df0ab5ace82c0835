/** One entry of the error catalogue. `message` is a template: `{name}` is replaced by a param. */
export interface ErrorSpec {
  /** Message template shown to users; `{param}` placeholders are filled from the error's params. */
  readonly message: string;
  /** What the user can do about it. May hold placeholders too. */
  readonly hint: string;
  /** HTTP status the API answers with. */
  readonly http: number;
  /** Exit code of the CLI. 1 = generic failure, 2 = usage/input, 3 = auth, 4 = not found, 5 = conflict, 6 = unavailable. */
  readonly exit: number;
}

/** Helper so each area file keeps literal keys while being checked against ErrorSpec. */
export function defineErrors<const T extends Record<`BERTH_${string}`, ErrorSpec>>(specs: T): T {
  return specs;
}
