// The `weft` executable's entry (bin/weft.js loads the compiled form); cli/weft.ts holds the commands.
import { runWeft } from "./weft.js";

process.exitCode = await runWeft(process.argv.slice(2));
