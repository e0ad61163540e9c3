// What every admin operation shares: its signature, its refusals and how it reads its JSON body.
import type Koa from "koa";
import type { S3Context } from "../context.js";
import { readSmallBody } from "../ops/common.js";
import type { AdminDeps } from "./admin-api.js";

export type AdminRoute = (deps: AdminDeps, ctx: Koa.Context) => Promise<unknown>;

/** An admin request the API refuses; rendered as `{"code", "message"}` with `status`. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "AdminError";
  }
}

type FieldType = "string" | "string?" | "boolean?" | "string[]?";
type FieldValue<Type extends FieldType> = Type extends "string"
  ? string
  : Type extends "string?"
    ? string | undefined
    : Type extends "string[]?"
      ? string[] | undefined
      : boolean | undefined;

function hasType(value: unknown, type: string): boolean {
  return type === "string[]" ? Array.isArray(value) && value.every((item) => typeof item === "string") : typeof value === type;
}

/** The request's JSON object, with the fields `shape` names ("string", "string[]", "boolean"; "?" when optional) checked. */
export async function jsonBody<Shape extends Record<string, FieldType>>(ctx: Koa.Context, shape: Shape): Promise<{ [Field in keyof Shape]: FieldValue<Shape[Field]> }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readSmallBody(ctx as S3Context, { limit: 64 * 1024 }));
  } catch (error) {
    if (error instanceof SyntaxError) throw new AdminError(400, "MalformedJSON", "The request body is not JSON.");
    throw error;
  }
  if (typeof parsed !== "object" || parsed === null) throw new AdminError(400, "MalformedJSON", "The request body is not a JSON object.");
  for (const [field, type] of Object.entries(shape)) {
    const value = (parsed as Record<string, unknown>)[field];
    if (value === undefined && type.endsWith("?")) continue;
    if (!hasType(value, type.replace("?", ""))) throw new AdminError(400, "InvalidArgument", `"${field}" must be a ${type.replace("?", "")}.`);
  }
  return parsed as { [Field in keyof Shape]: FieldValue<Shape[Field]> };
}

