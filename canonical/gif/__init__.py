"""The Digital Agency GIF core data model, as the mesh ships it."""
