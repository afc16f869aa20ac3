"""The client side of one desk (API client, live stream, replica, outbox). Built in a later issue."""
