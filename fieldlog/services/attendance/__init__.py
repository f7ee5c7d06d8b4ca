"""Days in the village, marked days, 报备 and leave along the county's chain. Imports `common`,
`people`, `org`.
"""
