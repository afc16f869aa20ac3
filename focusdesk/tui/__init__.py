"""The Textual app. Built in a later issue; imports station/ and domain/, never server/."""
