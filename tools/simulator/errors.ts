/**
 * An error the simulator answers with a JSON body, in Cliniko's shapes: `{"message": "..."}`, plus
 * `errors` for 422 validation failures (Cliniko API docs, "Limits and errors").
 *
 * @example
 * throw new SimHttpError(400, 'This column is not searchable.');
 */
export class SimHttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 422 | 429 | 500,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
    this.name = 'SimHttpError';
  }

  /** The JSON body Cliniko would send. */
  body(): { message: string; errors?: Record<string, string> } {
    return this.errors ? { message: this.message, errors: this.errors } : { message: this.message };
  }
}

export const NOT_SEARCHABLE = 'This column is not searchable.';
