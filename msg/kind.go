package msg

import "fmt"

// Kind is a message kind (WIRE §3).
type Kind uint64

const (
	KindPost         Kind = 1
	KindPoolOpen     Kind = 2
	KindVote         Kind = 3
	KindAvailability Kind = 4
	KindUnstake      Kind = 5
	KindRequest      Kind = 6
	KindCommit       Kind = 7
	KindReveal       Kind = 8
	KindDeposit      Kind = 9
	KindWithdraw     Kind = 10
	KindCheckpoint   Kind = 11
)

var kindNames = [...]string{
	KindPost: "POST", KindPoolOpen: "POOL_OPEN", KindVote: "VOTE", KindAvailability: "AVAILABILITY",
	KindUnstake: "UNSTAKE", KindRequest: "REQUEST", KindCommit: "COMMIT", KindReveal: "REVEAL",
	KindDeposit: "DEPOSIT", KindWithdraw: "WITHDRAW", KindCheckpoint: "CHECKPOINT",
}

// Valid reports whether k is one of the eleven kinds of v1.
func (k Kind) Valid() bool { return k >= KindPost && k <= KindCheckpoint }

func (k Kind) String() string {
	if k.Valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("KIND(%d)", uint64(k))
}

// Phase is the Apply phase in which messages of this kind take effect (SPEC §4).
func (k Kind) Phase() int {
	switch k {
	case KindDeposit, KindWithdraw:
		return 3
	case KindPost:
		return 4
	case KindAvailability, KindUnstake:
		return 5
	case KindRequest, KindPoolOpen:
		return 6
	case KindVote, KindCommit, KindReveal, KindCheckpoint:
		return 7
	}
	return 0
}
