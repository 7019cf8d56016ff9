// The API client: openapi-fetch typed by src/api/schema.d.ts, which scripts/gen-api.sh generates
// from the API's OpenAPI document (`npm run check:api` fails when they drift). Every call carries
// the bearer token; every error becomes an ApiError with the API's code, message and field.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { bearer, getConfig } from "../auth";

export type Schemas = components["schemas"];
export type Campaign = Schemas["CampaignView"];
export type CampaignState = Schemas["CampaignState"];
export type Contact = Schemas["ContactView"];
export type Call = Schemas["CallView"];
export type Outcome = Schemas["Outcome"];
export type ContactState = Schemas["ContactState"];
export type Agent = Schemas["AgentView"];
export type Preview = Schemas["Preview"];
export type SettingsInput = Schemas["SettingsInput"];

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public field?: string,
  ) {
    super(message);
  }
}

const auth: Middleware = {
  async onRequest({ request }) {
    request.headers.set("Authorization", `Bearer ${await bearer()}`);
    return request;
  },
};

let client: ReturnType<typeof createClient<paths>> | null = null;

export function api() {
  if (!client) {
    client = createClient<paths>({ baseUrl: getConfig().api_base });
    client.use(auth);
  }
  return client;
}

export async function toApiError(res: Response, body?: unknown): Promise<ApiError> {
  let b = body;
  if (b === undefined) {
    try {
      b = await res.json();
    } catch {
      b = undefined;
    }
  }
  const e = (b as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
  return new ApiError(res.status, e?.code ?? "http_" + res.status, e?.message ?? `HTTP ${res.status}`, e?.field ?? undefined);
}

/** The data of an openapi-fetch result, or its error thrown as an ApiError. */
export async function ok<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r;
  try {
    r = await p;
  } catch (e) {
    throw new ApiError(0, "network", `The API could not be reached (${(e as Error).message}).`);
  }
  if (r.error !== undefined || !r.response.ok) throw await toApiError(r.response, r.error);
  return r.data as T;
}

/** A multipart request (preview, create with file): openapi-fetch's body typing does not cover files. */
export async function postForm<T>(path: "/campaigns/preview" | "/campaigns/create" | "/dnc/upload", form: FormData, headers: Record<string, string> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(getConfig().api_base + path, {
      method: "POST",
      body: form,
      headers: { Authorization: `Bearer ${await bearer()}`, ...headers },
    });
  } catch (e) {
    throw new ApiError(0, "network", `The API could not be reached (${(e as Error).message}).`);
  }
  if (!res.ok) throw await toApiError(res);
  return (await res.json()) as T;
}

/** A download (the export): fetch with the token, hand the browser a file. */
export async function download(path: string, fileName: string): Promise<void> {
  const res = await fetch(getConfig().api_base + path, { headers: { Authorization: `Bearer ${await bearer()}` } });
  if (!res.ok) throw await toApiError(res);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** PUT a file to a presigned URL with progress (fetch has no upload progress; XHR does). */
export function putWithProgress(url: string, headers: Record<string, string>, file: Blob, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [k, v] of Object.entries(headers)) {
      if (k.toLowerCase() !== "host" && k.toLowerCase() !== "content-length") xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new ApiError(xhr.status, "upload_failed", `The upload failed (HTTP ${xhr.status}).`)));
    xhr.onerror = () => reject(new ApiError(0, "upload_failed", "The upload failed (network error)."));
    xhr.send(file);
  });
}
