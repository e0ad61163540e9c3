// A request signed for another region is refused, as AWS refuses it: the credential scope names the region the client
// believes it talks to, and a client that is wrong about that is misconfigured in ways a signature check alone hides.
// SigV2 names no region (AWS still takes it in us-east-1 and the regions opened before 2014), so there is nothing to
// compare.
import { S3Error } from "../s3/errors.js";
import type { AuthenticatedRequest } from "./verify-request.js";

export function requireRegion(auth: Pick<AuthenticatedRequest, "authType" | "region">, region: string): void {
  if (auth.region === undefined || auth.region === region) return;
  const details = { Region: region };
  if (auth.authType === "header") {
    throw new S3Error("AuthorizationHeaderMalformed", `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${region}'`, { details });
  }
  throw new S3Error("AuthorizationQueryParametersError", `Error parsing the X-Amz-Credential parameter; the region '${auth.region}' is wrong; expecting '${region}'`, { details });
}
