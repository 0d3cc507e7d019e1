/**
 * Parser and printer for Strata's `<<resolve:…>>` references: CloudFormation dynamic references
 * with `<<` `>>` as delimiters. Pure functions, no I/O. A hand-written scanner: linear time in the
 * input length, no backtracking regular expressions.
 *
 * This file is the specification and the public face; the code is in layers, each using only the
 * ones above it: `./types.ts` (data types), `./diagnostics.ts` (errors and their echo),
 * `./lexer.ts` (character classes, segments), `./names.ts` (AWS naming rules), `./grammar.ts`
 * (one parser per reference type), `./parse.ts` (references and templates), `./printer.ts`.
 *
 * ## Grammar
 *
 * ```
 * <<resolve:ssm:NAME>>                     latest version
 * <<resolve:ssm:NAME:VERSION>>             a version number or a label
 * <<resolve:ssm-secure:NAME[:VERSION]>>    same, but the parameter must be a SecureString
 * <<resolve:secretsmanager:SECRET-ID[:SecretString[:JSON-KEY[:VERSION-STAGE[:VERSION-ID]]]]>>
 * <<resolve:kms:CIPHERTEXT[:CONTEXT]>>
 * ```
 *
 * A reference ends at the first `>>` after its `<<resolve:`. No part of a reference may contain
 * whitespace, `<` or `>`; segments are separated by `:`.
 *
 * - NAME (ssm, ssm-secure): a parameter name or path of `a-z A-Z 0-9 _ . - /` (`my-param`,
 *   `/a/b-c/d_e.f`), or a full parameter ARN `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME`
 *   (PARTITION is `aws`, `aws-cn` or `aws-us-gov`; ACCOUNT is 12 digits). An ARN is parsed as one
 *   unit, colons included, and kept verbatim as `name`: providers interpret it. A leading `arn`
 *   segment followed by at least two more segments is an ARN; `<<resolve:ssm:arn:3>>` is the
 *   parameter `arn`, version 3. `/aws/reference/secretsmanager/SECRET-ID` is an ordinary name
 *   (kept as is); after that prefix the Secrets Manager characters `+ = @` are allowed too.
 * - VERSION: all digits is a version number (`version`, >= 1, a safe integer; leading zeros are
 *   accepted: `007` is 7). Anything else is a label (`label`): letters, digits, `.`, `-`, `_`,
 *   at most 100 characters, not starting with a digit. An empty VERSION (`NAME:`) is an error.
 * - SECRET-ID: a secret name of `a-z A-Z 0-9 / _ + = . @ -`, or a full secret ARN
 *   `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME` (the `-AbCdEf` suffix optional),
 *   kept verbatim. A leading `arn` segment is an ARN unless the next segment is `SecretString`.
 *   The segment after SECRET-ID, if present, must be exactly `SecretString` (CloudFormation
 *   supports nothing else; `SecretBinary` is an error). JSON-KEY, VERSION-STAGE and VERSION-ID
 *   may be empty, which means "not given": `<<resolve:secretsmanager:prod/db:SecretString::AWSPREVIOUS>>`
 *   has no JSON key and the stage AWSPREVIOUS. Both a stage and a version id may be given; they
 *   are parsed as they are and the resolver passes both to AWS. JSON-KEY is a plain string (any
 *   characters but whitespace, control characters, `:`, `<` and `>`); the resolver reads `.` in it
 *   as a path into nested objects. VERSION-STAGE and VERSION-ID use the same character set.
 * - CIPHERTEXT: standard base64 (`A-Z a-z 0-9 + /`) or base64url (`- _` instead of `+ /`), not
 *   both alphabets at once, with optional `=` padding (at most two, only at the end, and then the
 *   length must be a multiple of 4). Kept verbatim.
 * - CONTEXT: the KMS encryption context as `key=value,key2=value2`. Keys and values are
 *   percent-encoded (`encodeURIComponent`), so `,` `=` `:` `%` `<` `>` and spaces are written
 *   `%2C` `%3D` `%3A` `%25` `%3C` `%3E` `%20`. When parsing, other characters may also appear
 *   unencoded (e.g. `/` or `é`), and every `%XX` sequence is decoded (it must be valid UTF-8).
 *   Keys must be non-empty and distinct; values may be empty (`k=`). An empty CONTEXT
 *   (`<<resolve:kms:AAAA:>>`) is an empty context `{}`. The printer sorts keys and encodes every
 *   key and value with `encodeURIComponent`.
 *
 * ## Templates
 *
 * `parseTemplate` splits a string into text and references. `<<` not followed by `resolve:` is
 * plain text. Backslashes are special only directly before `<<resolve:`: a run of N backslashes
 * there stands for N/2 (rounded down) literal backslashes; if N is odd, the `<<resolve:` is literal
 * text, otherwise a reference starts there. So `\<<resolve:ssm:x>>` is the text `<<resolve:ssm:x>>`,
 * and `\\<<resolve:ssm:x>>` is a backslash followed by a reference. Backslashes anywhere else are
 * literal (`C:\dir`, `a\\b` are unchanged). `formatTemplate` is the inverse: before every literal
 * `<<resolve:` in a text part it writes 2N+1 backslashes (N = the backslashes that precede it in
 * the text), and it doubles the backslashes that end a text part followed by a reference.
 *
 * ## Names (as AWS validates them)
 *
 * A parameter NAME is at most 1,011 characters (AWS's limit, which counts an ARN too), has at most
 * 15 levels, and a name with a `/` is fully qualified: it starts with `/`, has no empty segment
 * (`//`, a trailing `/`) and no `.` or `..` segment. Its first segment may not start with `aws` or
 * `ssm` in any case (AWS reserves them), except the readable namespaces `/aws/service/…` (public
 * parameters) and `/aws/reference/secretsmanager/…`. A SECRET-ID name is at most 512 characters
 * (an ARN at most 2,048). A label may not start with `aws` or `ssm` either; a VERSION-STAGE is at
 * most 256 characters.
 *
 * ## Errors
 *
 * Every parse failure is a `StrataError` with code `PARSE_ERROR`, `position` = the 0-based offset
 * in the input of the problem (always within `[0, input.length]`), and a message of the form
 * `invalid reference at 12: unknown reference type (…) in '<<resolve:'`. The message never quotes
 * text of the input that did not pass validation: the echo (also in `source`) is the reference up
 * to the end of the part that did — `<<resolve:`, the type, and the name or secret id when it is
 * valid — truncated to 80 characters; the reason names the problem and its position only. A
 * missing `>>` is reported at the opening `<<`. With `origin` (text that came from a source: a
 * parameter or secret value, a KMS plaintext), nothing of the input is echoed at all: the message
 * names the origin and the position (`invalid reference at 12: … (in the value of ssm parameter /a)`)
 * and `source` is the origin's `source`. Nothing else is ever thrown by the parser. The printers
 * throw `StrataError` `INVALID_INPUT` for a reference object that does not satisfy these rules.
 */

export { PARAMETER_DEPTH_MAX, PARAMETER_NAME_MAX, parameterNameProblem } from './names.js';
export { hasReference, parseReference, parseTemplate } from './parse.js';
export { formatReference, formatTemplate, referenceKey } from './printer.js';
export type {
  KmsReference,
  ParseOrigin,
  Reference,
  SecretsManagerReference,
  SsmReference,
  TemplatePart,
} from './types.js';
