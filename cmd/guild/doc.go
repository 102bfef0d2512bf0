// Command guild is the one binary of the Guild network: a peer node (`guild node`),
// a local multi-node network (`guild devnet`), the tools that make a network
// (`keygen`, `genesis`, `init`), the client commands experts, requesters and members
// use through a running node (`status`, `peers`, `post`, `pool`, `rep`, `params`),
// local job execution (`job run`) and log inspection (`log inspect`).
//
// Every subcommand lives in its own file and answers `--help`; client commands take
// `--json`. Errors print as one line; usage errors exit with status 2.
package main
