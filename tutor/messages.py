"""Every sentence a user (instructor or learner) is shown when something is wrong.

One place, so the wording stays consistent and each message says what was wrong and what to do.
"""

from __future__ import annotations

# redis-cli lines
EMPTY_COMMAND = "the command is empty; write a Redis command such as 'LPUSH queue hello'"
UNBALANCED_QUOTES = "unbalanced quotes in the command; close every \" or ' you open"
QUOTE_NOT_FOLLOWED_BY_SPACE = "a closing quote must be followed by a space or the end of the line"
UNKNOWN_COMMAND = "unknown Redis command '{name}'{hint}"
DID_YOU_MEAN = " (did you mean {name}?)"
NOT_IN_LESSONS = (
    "'{name}' is a Redis command, but not one lessons can use yet: the engine runs only commands whose keys "
    "it knows how to keep inside the lesson (docs/authoring.md, section 7 lists them); ask for it to be added"
)
FORBIDDEN_GLOBAL = "'{name}' is not available in lessons: it reaches beyond the lesson's own keys or the server"
FORBIDDEN_CONNECTION = (
    "'{name}' is not available in lessons: it changes the actor's connection itself (protocol, login, "
    "database or cluster mode), which the engine keeps as it is for the whole run"
)
FORBIDDEN_SUBSCRIBE = (
    "'{name}' is not available in lessons: sharded pub/sub belongs to Redis Cluster; "
    "use SUBSCRIBE and UNSUBSCRIBE (or PSUBSCRIBE and PUNSUBSCRIBE)"
)
FORBIDDEN_CLOCK = (
    "'{name}' is not available in lessons: its reply depends on the server's wall clock, not on lesson time, "
    "so the trace would differ between runs"
)
FORBIDDEN_TIMESTAMP = (
    "'{name}' is not available in lessons: it takes a Unix time on the server's clock, so what it does depends "
    "on when the lesson runs; use EXPIRE or PEXPIRE with at least 60 s"
)
FORBIDDEN_CHANCE = (
    "'{name}' is not available in lessons: it picks at random, so the trace would differ between runs "
    "(and the embedded server draws differently from Redis)"
)
TIMESTAMP_OPTION = (
    "{name} with {option} takes a Unix time on the server's clock, so the trace would depend on when the "
    "lesson runs; leave {option} out (XCLAIM: use IDLE; SET and GETEX: use EX or PX with at least 60 s)"
)
SORT_PATTERN = (
    "{name} with {option} reads other keys named by a pattern, which cannot be kept inside the lesson's "
    "own keys; sort the key's own values (ASC, DESC, ALPHA, LIMIT, STORE)"
)
XINFO_SUBCOMMAND = (
    "unknown XINFO subcommand '{sub}'{hint}: lessons can use XINFO STREAM key, XINFO GROUPS key "
    "and XINFO CONSUMERS key group"
)
XINFO_MISSING = "XINFO needs a subcommand: XINFO STREAM key, XINFO GROUPS key or XINFO CONSUMERS key group"
XINFO_HELP = (
    "XINFO HELP is not available in lessons: the embedded server does not have it; lessons can use "
    "XINFO STREAM key, XINFO GROUPS key and XINFO CONSUMERS key group"
)
XINFO_FULL = (
    "XINFO STREAM with FULL is not available in lessons: its reply holds Unix times from the server's clock "
    "(seen-time, delivery times), and the embedded server leaves out its group details; show XINFO CONSUMERS "
    "and XPENDING, whose idle times follow lesson time"
)
XADD_STAR = (
    "XADD with '*' makes an ID from the wall clock, so the trace would differ between runs; "
    "give an explicit ID such as 1-0"
)

# lesson structure
YAML_SYNTAX = "YAML syntax error: {problem}"
NOT_A_MAPPING = "a lesson file must be a mapping of fields (title:, step_through: ...)"
DUPLICATE_FIELD = "field '{name}' appears twice"
UNKNOWN_FIELD = "unknown field '{name}'{hint} (allowed: {allowed})"
MISSING_FIELD = "missing required field '{name}'"
WRONG_TYPE = "expected {expected}, got {actual}"
NOT_ONE_OF = "expected one of {allowed}, got {actual!r}"
TOO_SHORT = "needs at least {minimum} item(s)"
TOO_SMALL = "must be at least {minimum}, got {actual!r}"
BAD_PATTERN = "{actual!r} does not match {what}"
NO_MODE = "a lesson needs at least one mode: step_through: or performance:"
DUPLICATE_ID = "lesson id '{id}' is already used by {other}"

# references inside a lesson
UNKNOWN_ACTOR = "unknown actor '{name}' (declared actors: {known})"
UNKNOWN_WATCH = "unknown key '{name}' (watched keys: {known})"
UNKNOWN_VARIABLE = "unknown variable '{name}' (declared variables: {known})"
ASSIGN_WITHOUT_COMMAND = "assign: needs a redis: or python: command in the same step"
BOTH_COMMANDS = "a step runs either redis: or python:, not both"
EMPTY_STEP = "a step needs redis:, python: or note:"
EXPECT_WITHOUT_COMMAND = "expect: needs a redis: or python: command in the same step to check"
BAD_FILE_ID = (
    "the file name '{stem}' is not a valid lesson id (lower-case letters, digits, '-', '_'); rename the file or add id:"
)
PYTHON_WITHOUT_PROCESS = "actor '{name}' has no process memory; declare it under processes:"
STEP_OUT_OF_RANGE = "step {step} does not exist (the steps are numbered 1 to {count})"
STAGE_OUT_OF_RANGE = "stage {stage} does not exist (concept_flow has stages 1 to {count})"
LINE_OUT_OF_RANGE = "line {line} does not exist (the sample has lines 1 to {count})"
DUPLICATE_SLUG = "slug '{slug}' is used by two step-throughs"
SLUG_REQUIRED = "every step-through after the first needs a slug:"
TOO_MANY = "{what}: at most {limit} allowed, got {count}"

# execution
EXPECT_MISMATCH = "expected {expected}, but Redis replied {actual}"
EXPECT_MISMATCH_PYTHON = "expected {expected}, but Python gave {actual}"
EXPECT_BLOCKED = "expected the command to block, but it returned {actual}"
EXPECT_NOT_BLOCKED = "expected {expected}, but the command blocked (the keys it waits on are empty)"
REDIS_ERROR = "Redis rejected the command: {error}"
PYTHON_ERROR = 'Python raised {error}; add expect: "{error}" if this is what the step teaches'
ACTOR_SUBSCRIBED = (
    "actor '{actor}' subscribed at step {since}: its connection now only receives messages, and may send only "
    "SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE or PUNSUBSCRIBE (as with redis-py's PubSub); give another actor the command"
)
SUBSCRIBE_IN_MULTI = "{name} cannot be queued inside MULTI in a lesson: subscribe outside the transaction"
UNSUBSCRIBE_ALL = (
    "{name} without a channel is not available in lessons: Redis lists the channels it leaves in its own "
    "hash-table order, which can differ between runs; name the channels (or patterns) to leave"
)
ACTOR_BLOCKED = (
    "actor '{actor}' is still blocked by its command at step {since}; it cannot send another "
    "command until a push wakes it or its timeout passes (add wait: to let time pass)"
)
BACKEND_FAILED = (
    "the {backend} server failed on this command ({error}); it cannot be run here. "
    "Try it on a real Redis with --redis-url, and report it if Redis accepts it"
)
BACKEND_TIMEOUT = "Redis did not answer within {seconds:g} s; the command was abandoned"
REPLY_TOO_LARGE = "the reply has {size} characters; a lesson step may show at most {limit}"

# python steps
PY_SYNTAX = "not a Python expression: {problem}"
PY_NOT_ALLOWED = (
    "only simple operations on declared lists, deques and dicts are allowed "
    "(append, appendleft, pop, popleft, clear, get, len, indexing, d[k] = v, literals); got {what}"
)
PY_UNKNOWN_NAME = "unknown name '{name}' (this process has: {known})"
PY_BAD_INITIAL = "process values must be lists, dicts or deque([...]) literals, got {actual!r}"

# quizzes
ANSWER_MISMATCH = "the choice marked correct is {marked}, but the execution gives {actual} ({source} after step {step})"
ANSWER_NOT_AMONG_CHOICES = "the execution gives {actual} ({source} after step {step}), and no choice says so"
QUIZ_NO_CORRECT = "a question needs at least one choice marked correct: true"
QUIZ_DUPLICATE_CHOICE = "choice {text!r} appears twice"
QUIZ_TOO_FEW = "a question needs at least two choices"
ANSWER_FROM_ONE_SOURCE = "answer_from takes exactly one of key:, variable: or reply: true"

# learners
LEARNER_BAD_STEP = "step must be a whole number between 0 and {count}"
LEARNER_UNKNOWN_LESSON = "there is no lesson '{id}'"
LEARNER_UNKNOWN_MODE = "lesson '{id}' has no {mode}"
LEARNER_BAD_FORM = "the form is incomplete or malformed: {what}"
LEARNER_BAD_CSRF = "this form has expired or did not come from this site; reload the page and try again"
LEARNER_UNKNOWN_QUESTION = "there is no question {question} in this quiz"
LEARNER_BAD_CHOICE = "choice {choice} is not one of this question's choices"

# the site
REDIS_UNREACHABLE = (
    "Redis ({url}) is not reachable right now, so no step can run; your progress is safe. Try again in a moment."
)
REQUEST_TOO_LARGE = (
    "this request is larger than the site accepts ({limit}); its forms send far less, so reload the page and try again"
)
CLI_REDIS_UNREACHABLE = "Redis ({url}) is not reachable, so no step can run; start it or give another --redis-url"
TRY_EMPTY = "type a Redis command to run, such as LRANGE queue 0 -1"
TRY_TOO_LONG = "the command is too long: at most {limit} characters"
TRY_UNKNOWN_ACTOR = "choose one of this lesson's actors to run the command: {known}"

# quizzes, the learner's side (tutor/quiz.py, tutor/quiz_views.py)
LEARNER_UNKNOWN_QUIZ = "there is no quiz {quiz!r} in this lesson"
LEARNER_NO_CHOICE = "choose an answer first, then submit"
LEARNER_ONE_CHOICE = "this question takes exactly one choice"
LEARNER_NO_HINT = "this question has no hint"
LEARNER_NOT_PREDICTION = "question {question} is not asked before a step"
LEARNER_BAD_PLACE = "the page to return to is unknown"
QUIZ_SCORING_RULE = (
    "Scoring: a right answer on the first try, without the hint, earns 1 point. Each wrong try before "
    "the right one takes 0.25 off, and so does showing the hint, down to 0.25 once you answer right. "
    "A question earns 0 until you answer it right. Retries are always allowed."
)
QUIZ_PREDICTION_INTRO = "Predict before step {step} runs: commit an answer (or skip), and the step shows what happens."
QUIZ_SKIPPED = "You skipped this prediction; it does not count as a wrong try. Answer it in the quiz any time."
RESULTS_NO_ANSWERS = "no quiz answers recorded yet"
RESULTS_UNKNOWN_LESSON = "no lesson '{id}' in {folder} (lessons: {known})"

# commands whose replies or waits the engine cannot pin down
SHORT_TTL = (
    "an expiry shorter than {minimum} s follows the server's clock, not the lesson's, so it could fire "
    "in the middle of a run; use at least {minimum} s"
)
BAD_TIMEOUT = "{name} needs its timeout as a plain number of seconds (milliseconds for XREAD BLOCK), such as 0 or 1.5"
PIPELINE_STAGE_OUT_OF_RANGE = "stage {stage} does not exist (the pipeline has stages 1 to {count})"
PREDICTION_HINT_SHOWS_ANSWER = (
    "this prediction is asked before step {ask} runs, but its hint opens the table at step {step}, which shows "
    "the answer; point hint_step at a step before {ask}, or leave it out"
)
CORRECTION_SOURCE_NO_LINK = (
    "a correction's source must be a page the learner can open: give its address (https://...), such as "
    "the official documentation page, and the experiment with its figures if you measured it"
)
