"""Every limit of the signatures, in one place (pure constants: the rendering core, the
services and the forms read them here). README.md lists them, and a test keeps that list
equal to these values."""

# --- a template ---------------------------------------------------------------------------
TEMPLATE_NAME_CHARS = 200
FIELD_VALUE_CHARS = 500  # one field's value (a name, a URL, a phone number…)
MULTILINE_VALUE_CHARS = 2000  # a postal address, a legal notice
EXTRA_HTML_CHARS = 20_000  # the administrator's own HTML block, before rendering
# What a rendered signature may weigh: mail clients clip long messages (Gmail at 102 KB),
# and the signature is added to every message sent.
SIGNATURE_HTML_BYTES = 32 * 1024
# Wider than this, a signature scrolls sideways on a phone and in most reading panes.
SIGNATURE_WIDTH_MAX_PX = 600
# The text column beside the logo or the photo.
TEXT_COLUMN_PX = 400

# --- images -------------------------------------------------------------------------------
IMAGE_UPLOAD_BYTES = 2 * 1024 * 1024
# Stored pixels: twice the widest display width, sharp on high-density screens.
IMAGE_STORED_WIDTH_MAX_PX = 400
IMAGE_DISPLAY_WIDTH_MAX_PX = 200
IMAGE_PIXELS_MAX = 40_000_000  # a decompression bomb is refused before it is decoded
IMAGE_ALT_CHARS = 200

# --- bulk work ----------------------------------------------------------------------------
# Signatures written per statement by the bulk jobs: few queries, bounded memory.
BULK_BATCH_SIZE = 1000
ACTIVATION_ADDRESSES_MAX = 100_000
