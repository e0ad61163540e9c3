// The only place XML is produced or parsed. Element names are exactly those of the AWS S3 API reference.
import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";
import { S3Error } from "./errors.js";

export const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@", suppressEmptyNode: false });
const parserOptions = {
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  htmlEntities: true,
  isArray: (name: string) => name === "Part" || name === "Object",
};
const parser = new XMLParser(parserOptions);
/** For documents whose text is data that may begin or end with whitespace (object keys in DeleteObjects). */
const untrimmedParser = new XMLParser({ ...parserOptions, trimValues: false });

type XmlValue = string | number | boolean | XmlObject | XmlValue[] | undefined;
export interface XmlObject {
  [element: string]: XmlValue;
}

/** Drops undefined members so optional elements are simply absent. */
function prune(value: XmlValue): XmlValue {
  if (Array.isArray(value)) return value.map(prune);
  if (value && typeof value === "object") {
    const out: XmlObject = {};
    for (const [name, member] of Object.entries(value)) if (member !== undefined) out[name] = prune(member);
    return out;
  }
  return value;
}

export function renderXml(root: string, body: XmlObject, namespace: string | null = S3_NAMESPACE): string {
  const element = namespace ? { "@xmlns": namespace, ...body } : body;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: prune(element) })}`;
}

/** Parses a request body; anything not well-formed, or without the expected root element, is MalformedXML. */
export function parseXml(text: string, root: string, options: { trimValues?: boolean } = {}): XmlObject {
  if (text.trim() === "" || XMLValidator.validate(text) !== true) throw new S3Error("MalformedXML");
  const document = (options.trimValues === false ? untrimmedParser : parser).parse(text) as XmlObject;
  const element = document[root];
  if (element === undefined) throw new S3Error("MalformedXML");
  return element === "" ? {} : (element as XmlObject);
}

export function iso8601(date: Date): string {
  return date.toISOString();
}
